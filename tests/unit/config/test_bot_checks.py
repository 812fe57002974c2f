"""An admin pastes a bot token or names a bot's workflow: a token of the wrong shape, or a
workflow that does not exist, is a config error naming the key (never echoing the token)."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, parse_settings
from config.workflow_files import check_bot_workflows, check_bot_workflows_offline


def bot_config(platform: str, token: str, workflow: str = "support_bot") -> str:
    return (
        "workflows_dir: wf\n"
        "bots:\n"
        f"  - name: b\n    platform: {platform}\n    token: '{token}'\n    workflow: {workflow}\n"
    )


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, "chatgate.yaml", {})
    return caught.value


@pytest.mark.parametrize(
    "token",
    [
        "fake",  # the issue's
        "123456",  # the bot id alone
        "bot123456:AAE-secret",  # not digits before the colon
        "123456:",  # no secret
        "123456:AAE secret",  # whitespace
    ],
)
def test_a_telegram_token_that_botfather_never_gives_names_its_key(token: str) -> None:
    error = refused(bot_config("telegram", token))
    assert error.key == "bots.0.token"
    assert error.line == 5
    assert "Telegram bot token" in error.reason or "whitespace" in error.reason
    assert f"'{token}'" not in str(error)


@pytest.mark.parametrize(
    "token",
    [
        "fake",
        "1234567890123456789",  # the application id
        "3f0b" * 16,  # the public key
        "AbCdEfGhIjKlMnOpQrStUvWxYz012345",  # the client secret
        "Bot MTA.GhIjKl.abc",  # pasted with the header's prefix
    ],
)
def test_a_discord_value_that_is_not_the_bot_token_names_its_key(token: str) -> None:
    error = refused(bot_config("discord", token))
    assert error.key == "bots.0.token"
    assert error.line == 5
    assert token not in str(error)


@pytest.mark.parametrize(
    ("platform", "token"),
    [
        ("telegram", "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ew"),
        ("discord", "MTA0NTY3ODkwMTIzNDU2Nzg5MA.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789_-"),
        ("telegram", ""),  # empty: configured, not started
        ("discord", ""),
    ],
)
def test_tokens_of_the_right_shape_and_empty_ones_are_accepted(platform: str, token: str) -> None:
    settings = parse_settings(bot_config(platform, token), "chatgate.yaml", {})
    assert settings.bots[0].token.get_secret_value() == token


def test_a_misspelt_workflow_names_the_key_and_lists_the_known_ones() -> None:
    text = bot_config("telegram", "") + "  - {name: c, platform: discord, token: '', workflow: support_bto}\n"
    settings = parse_settings(text, "chatgate.yaml", {})
    with pytest.raises(ConfigError) as caught:
        check_bot_workflows(settings, "chatgate.yaml", text, {"support_bot", "faq"}, ids_checked=True)
    error = caught.value
    assert error.key == "bots.1.workflow"
    assert error.line == 7
    assert error.reason.startswith("unknown workflow 'support_bto' (did you mean 'support_bot'?)")
    assert "known workflows (from workflows_dir): faq, support_bot" in error.reason


def test_a_wf_id_passes_offline_and_is_checked_where_the_store_is_known() -> None:
    text = bot_config("telegram", "", workflow="wf_0123456789abcdef")
    settings = parse_settings(text, "chatgate.yaml", {})
    check_bot_workflows(settings, "chatgate.yaml", text, {"support_bot"}, ids_checked=False)
    check_bot_workflows(
        settings, "chatgate.yaml", text, {"support_bot", "wf_0123456789abcdef"}, ids_checked=True
    )
    with pytest.raises(ConfigError) as caught:
        check_bot_workflows(settings, "chatgate.yaml", text, {"support_bot"}, ids_checked=True)
    assert caught.value.key == "bots.0.workflow"
    assert "no stored workflow has this id 'wf_0123456789abcdef'" in caught.value.reason


def test_check_config_knows_the_workflows_by_the_names_their_files_declare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wf").mkdir()
    (tmp_path / "wf" / "helpdesk.yaml").write_text("name: support_bot\nnodes: []\nconnections: []\n")
    (tmp_path / "wf" / "broken.json").write_text("{not json")
    path = tmp_path / "chatgate.yaml"
    path.write_text(bot_config("telegram", ""))
    check_bot_workflows_offline(parse_settings(path.read_text(), path, {}), path)
    path.write_text(bot_config("telegram", "", workflow="helpdesk"))  # the file's name is not the workflow's
    with pytest.raises(ConfigError) as caught:
        check_bot_workflows_offline(parse_settings(path.read_text(), path, {}), path)
    assert caught.value.key == "bots.0.workflow"
    assert caught.value.path == str(path)
