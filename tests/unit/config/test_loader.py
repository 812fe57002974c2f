"""An admin edits chatgate.yaml: ${ENV} values fill in, and every mistake is named with its key and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from config import ConfigError, Settings, load_settings, parse_settings
from engine.llm.client import LLM
from tests.support.chatgate import ROOT


def parse(text: str, env: dict[str, str] | None = None) -> Settings:
    return parse_settings(textwrap.dedent(text), "chatgate.yaml", env or {})


def refused(text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse(text, env)
    assert "\n" not in str(caught.value)  # one line, fit for a terminal
    return caught.value


def test_the_shipped_config_is_valid_without_any_environment() -> None:
    settings = load_settings(ROOT / "config" / "chatgate.yaml", env={})
    assert settings.server.port == 8080
    assert settings.llm.default_model == "echo"
    assert settings.api_keys == []
    assert [b.enabled for b in settings.bots] == [False, False]


def test_an_empty_file_means_every_default() -> None:
    settings = parse("")
    assert settings.rate_limits == {"free": "10/minute", "paid": "600/minute"}
    assert settings.server.max_body_bytes == 1024 * 1024
    assert settings.storage.url == "sqlite:///data/chatgate.db"


def test_env_references_are_filled_in_anywhere() -> None:
    settings = parse(
        """
        server: {host: "${HOST}", port: 9000}
        api_keys: [{key: "${ADMIN_KEY}", name: admin, tier: paid}]
        storage: {url: "postgresql+asyncpg://app:${DB_PASS}@db/${DB_NAME}"}
        """,
        {"HOST": "0.0.0.0", "ADMIN_KEY": "s3cret-admin-key", "DB_PASS": "pw", "DB_NAME": "gate"},
    )
    assert settings.server.host == "0.0.0.0"
    assert settings.api_keys[0].key.get_secret_value() == "s3cret-admin-key"
    assert settings.storage.url == "postgresql+asyncpg://app:pw@db/gate"


def test_a_default_applies_only_when_the_variable_is_unset() -> None:
    text = """
        server: {host: "${HOST:-127.0.0.1}"}
        llm: {default_model: "${MODEL:-echo}", base_url: "${BASE:-}"}
        """
    unset = parse(text)
    assert (unset.server.host, unset.llm.default_model, unset.llm.base_url) == ("127.0.0.1", "echo", "")
    assert parse(text, {"HOST": "::1", "MODEL": "gpt-4o"}).llm.default_model == "gpt-4o"


def test_an_unset_variable_is_named_with_its_key_and_line() -> None:
    error = refused(
        """
        server: {port: 8080}
        api_keys:
          - {key: "${CHATGATE_ADMIN_KEY}", name: admin}
        """
    )
    assert "CHATGATE_ADMIN_KEY" in str(error)
    assert error.key == "api_keys.0.key"
    assert error.line == 4
    assert "chatgate.yaml:4" in str(error)


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("server: {port: 8080}\nsever: {port: 1}\n", "sever", 2),
        ("llm:\n  base_url: null\n  timeout: 5\n", "llm.timeout", 3),
        ("api_keys:\n  - key: long-enough-key\n    name: a\n    teir: paid\n", "api_keys.0.teir", 4),
        (
            "bots:\n  - {name: b, platform: telegram, token: '1:t', workflow: w, colour: red}\n",
            "bots.0.colour",
            2,
        ),
    ],
)
def test_an_unknown_key_is_an_error_naming_it(text: str, key: str, line: int) -> None:
    error = refused(text)
    assert error.key == key
    assert error.line == line
    assert "unknown key" in str(error)
    assert key in str(error)


def test_a_rate_that_is_not_a_rate_is_named() -> None:
    error = refused('rate_limits:\n  free: "10/minute"\n  paid: "lots per minute"\n')
    assert error.key == "rate_limits.paid"
    assert error.line == 3
    assert "lots per minute" in str(error)


def test_wrong_values_are_named_with_their_key() -> None:
    assert refused("server: {port: eighty}\n").key == "server.port"
    assert refused("llm: {max_retries: -1}\n").key == "llm.max_retries"
    assert refused("engine: {history_turns: many}\n").key == "engine.history_turns"


def test_a_key_tier_must_exist_in_rate_limits() -> None:
    error = refused("api_keys:\n  - {key: long-enough-key, name: a, tier: gold}\n")
    assert error.key == "api_keys.0.tier"
    assert "gold" in str(error)


def test_a_short_api_key_is_refused_without_echoing_it() -> None:
    error = refused("api_keys:\n  - {key: abc12, name: a}\n")
    assert error.key == "api_keys.0.key"
    assert "abc12" not in str(error)


def test_broken_yaml_is_reported_with_its_line() -> None:
    error = refused("server:\n  port: 8080\n  host: [unclosed\nllm: {}\n")
    assert "YAML" in str(error)
    assert error.line is not None
    assert error.line >= 3


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    assert "mapping" in str(refused("- just\n- a list\n"))


def test_the_config_path_comes_from_chatgate_config(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text("server: {port: 9999}\n")
    assert load_settings(None, env={"CHATGATE_CONFIG": str(path)}).server.port == 9999
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "missing.yaml", env={})
    assert "missing.yaml" in str(caught.value)
    assert "cannot read" in str(caught.value)


def test_secrets_print_masked() -> None:
    settings = parse(
        'api_keys: [{key: "visible-nowhere-1", name: a}]\nllm: {api_key: "sk-visible-nowhere"}\n'
    )
    assert "visible-nowhere" not in repr(settings)
    assert "visible-nowhere" not in str(settings.model_dump())


def test_openai_environment_variables_fill_null_llm_settings() -> None:
    env = {"OPENAI_BASE_URL": "http://llm.local/v1", "OPENAI_API_KEY": "sk-env"}
    from_env = LLM(parse("llm: {base_url: null, api_key: null}\n").llm, env=env)
    assert from_env.configured
    assert from_env.base_url == "http://llm.local/v1"
    from_file = LLM(parse('llm: {base_url: "http://file/v1", api_key: "sk-file"}\n').llm, env=env)
    assert from_file.base_url == "http://file/v1"
    nothing = LLM(parse("llm: {base_url: null, api_key: null}\n").llm, env={"OPENAI_BASE_URL": ""})
    assert not nothing.configured


def lines(*rows: str) -> str:
    """A crafted config file, one argument per line, so each test can name its lines."""
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # YAML sees an unclosed bracket only where the next key starts; the mistake is where it opened.
        (lines("server:", "  port: 8080", "  host: [unclosed", "llm: {}"), 3, "[ list"),
        (lines("llm: {}", "server: {port: 8080", "engine: {}"), 2, "{ mapping"),
        (lines("llm: {}", "server: {port: 8080"), 2, "{ mapping"),
        (lines("bots:", "  - name: a", "    command_guilds: [1, 2", "    token: '1:x'"), 3, "[ list"),
        # (the shipped file's own line, its closing brace deleted: a quoted value comes last)
        (
            lines("llm: {}", 'rate_limits: {free: "10/minute", paid: "600/minute"', "workflows_dir: w"),
            2,
            "{ mapping",
        ),
        (lines("bots:", "  - {name: a, platform: telegram", "  - name: b"), 2, "{ mapping"),
        # ... an unclosed quote only at the end of the file,
        (lines("server: {port: 8080}", 'llm: {base_url: "http://x}', "engine: {}"), 2, "quoted string"),
        (lines("server: {port: 8080}", "llm: 'echo", "engine: {}"), 2, "quoted string"),
        # ... a key without its colon on the next line.
        (lines("server: {port: 8080}", "llm", "engine: {}"), 2, "no ':'"),
        (lines("server: {port: 8080}", "llm"), 2, "no ':'"),
        # A mistake inside a multi-line flow mapping is where YAML stopped, not where it opened.
        (lines("llm: {}", "server: {port: 8080,", "  host: x y: z}"), 3, "expected ','"),
        (lines("server:", "  port: 8080", " host: x"), 3, "indentation"),
        (lines("server:", "\tport: 8080"), 2, "'\\t'"),
        (lines("a: 1", "---", "b: 2"), 2, "single document"),
    ],
)
def test_a_yaml_mistake_is_reported_on_the_line_to_fix(text: str, line: int, words: str) -> None:
    error = refused(text)
    assert error.line == line
    assert str(error).startswith(f"chatgate.yaml:{line}: YAML syntax error: ")
    assert words in str(error)


def test_a_wrong_value_inside_a_flow_mapping_is_on_its_own_line() -> None:
    error = refused(lines("llm: {}", "server: {host: 127.0.0.1,", "  max_body_bytes: 5,", "  port: eighty}"))
    assert (error.key, error.line) == ("server.port", 4)


def test_an_unset_variable_in_the_second_bot_is_on_its_line() -> None:
    error = refused(
        lines(
            "bots:",
            "  - {name: a, platform: telegram, workflow: w, token: '1:x'}",
            "  - name: b",
            "    platform: telegram",
            "    workflow: w",
            '    token: "${TG_SECOND_TOKEN}"',
        )
    )
    assert (error.key, error.line) == ("bots.1.token", 6)
    assert "TG_SECOND_TOKEN is not set" in str(error)


def test_a_variable_under_a_key_with_a_dot_is_found_on_its_line() -> None:
    error = refused(lines("llm: {}", "rate_limits:", "  free: 10/minute", '  team.a: "${TEAM_A_RATE}"'))
    assert (error.key, error.line) == ("rate_limits.team.a", 4)


@pytest.mark.parametrize(
    ("row", "key"),
    [("    tier: gold", "bots.1.tier"), ("    max_in_flight: lots", "bots.1.max_in_flight")],
)
def test_a_bad_value_of_the_second_bot_names_its_key_and_line(row: str, key: str) -> None:
    error = refused(
        lines(
            "bots:",
            "  - name: a",
            "    platform: telegram",
            "    workflow: w",
            "    token: '1:x'",
            "  - name: b",
            "    platform: telegram",
            "    workflow: w",
            row,
            "    token: '2:y'",
        )
    )
    assert (error.key, error.line) == (key, 9)


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        # The key is not in the file, so the line is that of the mapping it belongs in.
        (
            lines("llm: {}", "bots:", "  - name: a", "    platform: telegram", "    token: '1:x'"),
            "bots.0.workflow",
            3,
        ),
        (lines("llm: {}", "api_keys:", "  - {key: long-enough-key}"), "api_keys.0.name", 3),
        (lines("bots:", "  - name: a", "    token: '1:x'", "    workflow: w"), "bots.0.platform", 2),
        (
            lines(
                "bots:",
                "  - name: a",
                "    platform: telegram",
                "    workflow: w",
                "    token: '1:x'",
                "    mode: {secret_token: s}",
            ),
            "bots.0.mode.url",
            6,
        ),
    ],
)
def test_a_missing_required_key_points_at_its_parent(text: str, key: str, line: int) -> None:
    error = refused(text)
    assert (error.key, error.line) == (key, line)
    assert "required" in error.reason


def test_an_unknown_platform_names_the_platform_key() -> None:
    error = refused(lines("llm: {}", "bots:", "  - name: a", "    token: '1:x'", "    platform: irc"))
    assert (error.key, error.line) == ("bots.0.platform", 5)
    assert "'irc'" in str(error)
    assert "telegram" in str(error)
    assert "discord" in str(error)


def test_a_webhook_mistake_names_the_webhook_key() -> None:
    head = ("bots:", "  - name: a", "    platform: telegram", "    workflow: w", "    token: '1:x'")
    misspelt = refused(
        lines(*head, "    mode:", "      url: https://bot.example.com/telegram/a", "      pathh: /x")
    )
    assert (misspelt.key, misspelt.line) == ("bots.0.mode.pathh", 8)
    assert "unknown key" in str(misspelt)
    neither = refused(lines(*head, "    mode: hook"))
    assert (neither.key, neither.line) == ("bots.0.mode", 6)
    assert "'polling'" in str(neither)
    assert "WebhookSettings" in str(neither)


def test_the_first_mistake_in_the_file_is_the_one_reported() -> None:
    error = refused(lines("llm: {max_retries: -1}", "server: {port: eighty}"))
    assert (error.key, error.line) == ("llm.max_retries", 1)


def test_a_section_written_twice_is_refused_naming_both_lines() -> None:
    # A second bots: pasted at the end would otherwise drop every bot of the first, silently.
    error = refused(
        lines(
            "bots:",
            "  - {name: a, platform: telegram, workflow: w, token: '1:x'}",
            "llm: {}",
            "bots:",
            "  - {name: b, platform: discord, workflow: w, token: y}",
        )
    )
    assert (error.key, error.line) == ("bots", 4)
    assert "written twice (lines 1 and 4)" in str(error)
    inner = refused(
        lines("bots:", "  - {name: a, platform: telegram, workflow: w, token: x, tier: free, tier: paid}")
    )
    assert (inner.key, inner.line) == ("bots.0.tier", 2)


def test_a_yaml_merge_key_is_not_a_key_written_twice() -> None:
    settings = parse(lines("llm: &llm {timeout_s: 5, max_retries: 1}", "engine: {}"))
    assert settings.llm.timeout_s == 5
    merged = parse(
        lines("server: {port: 8081}", "llm:", "  <<: {timeout_s: 5, max_retries: 1}", "  max_retries: 3")
    )
    assert (merged.llm.timeout_s, merged.llm.max_retries) == (5, 3)


def test_an_alias_inside_what_it_names_is_a_config_error() -> None:
    assert "alias" in str(refused(lines("admins: &a [*a]")))
