"""An admin edits chatgate.yaml: ${ENV} values fill in, and every mistake is named with its key and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from config import ConfigError, Settings, load_settings, parse_settings
from engine.llm import LLM

ROOT = Path(__file__).resolve().parents[2]


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
            "bots:\n  - {name: b, platform: telegram, token: t, workflow: w, colour: red}\n",
            "bots.0.colour",
            2,
        ),
    ],
)
def test_an_unknown_key_is_an_error_naming_it(text: str, key: str, line: int) -> None:
    error = refused(text)
    assert error.key == key
    assert error.line == line
    assert "unknown key" in str(error) and key in str(error)


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
    assert error.line is not None and error.line >= 3


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    assert "mapping" in str(refused("- just\n- a list\n"))


def test_the_config_path_comes_from_chatgate_config(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text("server: {port: 9999}\n")
    assert load_settings(None, env={"CHATGATE_CONFIG": str(path)}).server.port == 9999
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "missing.yaml", env={})
    assert "missing.yaml" in str(caught.value) and "cannot read" in str(caught.value)


def test_secrets_print_masked() -> None:
    settings = parse(
        'api_keys: [{key: "visible-nowhere-1", name: a}]\nllm: {api_key: "sk-visible-nowhere"}\n'
    )
    assert "visible-nowhere" not in repr(settings) and "visible-nowhere" not in str(settings.model_dump())


def test_openai_environment_variables_fill_null_llm_settings() -> None:
    env = {"OPENAI_BASE_URL": "http://llm.local/v1", "OPENAI_API_KEY": "sk-env"}
    from_env = LLM(parse("llm: {base_url: null, api_key: null}\n").llm, env=env)
    assert from_env.configured and from_env.base_url == "http://llm.local/v1"
    from_file = LLM(parse('llm: {base_url: "http://file/v1", api_key: "sk-file"}\n').llm, env=env)
    assert from_file.base_url == "http://file/v1"
    nothing = LLM(parse("llm: {base_url: null, api_key: null}\n").llm, env={"OPENAI_BASE_URL": ""})
    assert not nothing.configured
