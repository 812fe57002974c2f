"""An admin saves a broken chatgate.yaml: the old config keeps serving, one clear error names
file, line and key in the log, /healthz and /metrics until a good edit; SIGHUP and
``chatgate reload`` reload on demand, and ``check-config`` gives the same verdict offline."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from config import ConfigError, parse_settings
from tests.config.reload_support import (
    edit,
    fast_reload,
    health,
    metrics,
    run_cli,
    status_of,
    wait_config,
    wait_rejected,
    wait_version,
    write_text,
)
from tests.support.chatgate import API_KEY, OTHER_KEY, ChatgateProcess, StartChatgate

NEW_KEY = "new-key-0123456789"
UNSET_KEY = {"key": "${NOT_SET_ANYWHERE}", "name": "unset"}
BOT = {"name": "tg", "platform": "telegram", "token": "", "workflow": "support_bot"}


def add_new_key(config: dict[str, Any]) -> None:
    config["api_keys"].append({"key": NEW_KEY, "name": "newcomer"})


def yaml_syntax_error(gw: ChatgateProcess) -> str:
    config = dict(gw.config, api_keys=[*gw.config["api_keys"], {"key": NEW_KEY, "name": "newcomer"}])
    return yaml.safe_dump(config, sort_keys=False) + "bots: [unclosed\n"


def with_change(change: Callable[[dict[str, Any]], None]) -> Callable[[ChatgateProcess], str]:
    def text(gw: ChatgateProcess) -> str:
        config = yaml.safe_load(yaml.safe_dump(gw.config))
        add_new_key(config)
        change(config)
        return yaml.safe_dump(config, sort_keys=False)

    return text


BAD_EDITS: dict[str, tuple[Callable[[ChatgateProcess], str], str | None, str]] = {
    # name: (the edit, the key named, words the reason has)
    "yaml syntax error": (yaml_syntax_error, None, "YAML syntax error"),
    "misspelt key": (
        with_change(lambda c: c["llm"].update(default_modle="echo")),
        "llm.default_modle",
        "unknown key",
    ),
    "bad value": (
        with_change(lambda c: c["rate_limits"].update(free="lots per minute")),
        "rate_limits.free",
        "'lots per minute' is not a rate",
    ),
    "unset variable": (
        with_change(lambda c: c["api_keys"].append(UNSET_KEY)),
        "api_keys.3.key",
        "NOT_SET_ANYWHERE is not set",
    ),
    "malformed bot token": (
        with_change(lambda c: c["bots"].append(BOT | {"token": "fake"})),
        "bots.0.token",
        "not a Telegram bot token",
    ),
    "misspelt bot workflow": (
        with_change(lambda c: c["bots"].append(BOT | {"workflow": "support_bto"})),
        "bots.0.workflow",
        "unknown workflow 'support_bto' (did you mean 'support_bot'?); known workflows (from workflows_dir): "
        "support_bot",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_EDITS))
async def test_a_rejected_edit_keeps_the_old_config_serving_until_a_good_one(
    start_chatgate: StartChatgate, kind: str
) -> None:
    gw = await start_chatgate(fast_reload)
    bad_text, key, reason = BAD_EDITS[kind]
    write_text(gw.config_path, bad_text(gw))

    error = await wait_rejected(gw)
    assert error["file"] == "chatgate.yaml"  # /healthz: relative to chatgate's working directory
    assert error["key"] == key
    assert isinstance(error["line"], int)
    assert error["line"] > 1
    assert reason in error["message"]
    assert error["message"].startswith(f"chatgate.yaml:{error['line']}: ")
    # Still the old config: its keys work, the edit's new key does not.
    assert await status_of(gw, API_KEY) == 200
    assert await status_of(gw, NEW_KEY) == 401
    assert (await health(gw))["config"]["version"] == 1
    # One clear line in the log.
    logged = [line for line in gw.logs().splitlines() if " ERROR " in line]
    assert len(logged) == 1, logged
    assert error["message"] in logged[0]
    assert "still running version 1" in logged[0]
    counts = await metrics(gw)
    assert counts["chatgate_config_last_reload_failed"] == 1
    assert counts['chatgate_config_reloads_total{result="rejected"}'] == 1
    # The offline verdict is the same (named as given: relative to the working directory, as /healthz does).
    checked = await asyncio.to_thread(run_cli, "check-config", gw.config_path.name, cwd=gw.workdir)
    assert checked.returncode == 1
    assert checked.stderr.strip() == f"invalid: {error['message']}"

    edit(gw, add_new_key)  # the fix
    state = await wait_version(gw, 2)
    assert state["last_error"] is None
    assert await status_of(gw, NEW_KEY) == 200
    assert (await metrics(gw))["chatgate_config_last_reload_failed"] == 0


async def test_an_unreadable_file_is_a_rejected_edit_too(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate(fast_reload)
    gw.config_path.unlink()  # e.g. an editor that deletes before writing, caught in between
    error = await wait_rejected(gw)
    assert "cannot read the file" in error["message"]
    assert await status_of(gw, API_KEY) == 200


async def test_a_file_saved_in_another_encoding_is_a_rejected_edit_and_the_next_edit_applies(
    start_chatgate: StartChatgate,
) -> None:
    def configure(config: dict[str, Any]) -> None:
        fast_reload(config)
        config["admins"] = ["key:tester"]  # for `chatgate reload`

    gw = await start_chatgate(configure)
    text = yaml.safe_dump(gw.config, sort_keys=False)
    line = text.count("\n") + 1
    # An editor set to Latin-1 saves an accent as one byte that is not UTF-8.
    gw.config_path.write_bytes(text.encode() + "# caf\u00e9\n".encode("latin-1"))
    error = await wait_rejected(gw)
    # /healthz names the file relative to chatgate's working directory.
    assert error["message"] == f"chatgate.yaml:{line}: not UTF-8 text (byte 0xe9); save the file as UTF-8"
    assert error["line"] == line
    assert await status_of(gw, API_KEY) == 200
    # `chatgate reload` still finds the server in that file, and prints its verdict.
    args = ("reload", "--config", str(gw.config_path), "--key", API_KEY)
    reloaded = await asyncio.to_thread(run_cli, *args, cwd=gw.workdir)
    assert reloaded.returncode == 1, reloaded.stderr
    assert "not UTF-8 text" in reloaded.stderr
    assert "Traceback" not in reloaded.stderr

    edit(gw, add_new_key)  # saved as UTF-8 again: the watch is still there and applies it
    state = await wait_version(gw, 2)
    assert state["last_error"] is None
    assert await status_of(gw, NEW_KEY) == 200


async def test_sighup_reloads_when_watching_is_off(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate(lambda c: fast_reload(c, watch=False))
    assert (await health(gw))["config"]["watching"] is False
    edit(gw, add_new_key)
    assert gw.proc is not None
    gw.proc.send_signal(signal.SIGHUP)
    state = await wait_version(gw, 2)
    assert state["last_reload"]["trigger"] == "SIGHUP"
    assert await status_of(gw, NEW_KEY) == 200


async def test_chatgate_reload_prints_the_servers_verdict(start_chatgate: StartChatgate) -> None:
    def configure(config: dict[str, Any]) -> None:
        fast_reload(config, watch=False)
        config["admins"] = ["key:tester"]  # the key named "tester" may use the admin API

    gw = await start_chatgate(configure)
    path = str(gw.config_path)
    edit(gw, add_new_key)
    done = await asyncio.to_thread(run_cli, "reload", "--config", path, cwd=gw.workdir)
    assert done.returncode == 0, done.stderr
    assert "Applied: now running version 2" in done.stdout
    assert "API key newcomer added" in done.stdout
    assert await status_of(gw, NEW_KEY) == 200

    edit(gw, lambda c: c["rate_limits"].update(free="lots per minute"))
    done = await asyncio.to_thread(run_cli, "reload", "--config", path, cwd=gw.workdir)
    assert done.returncode == 1
    error = (await health(gw))["config"]["last_error"]
    assert error["key"] == "rate_limits.free"
    # The admin's answer names the file in full; /healthz, which anyone may read, relative to the cwd.
    in_full = error["message"].replace("chatgate.yaml", str(gw.config_path), 1)
    assert f"Rejected, still running version 2: {in_full}" in done.stderr

    done = await asyncio.to_thread(run_cli, "reload", "--config", path, "--key", OTHER_KEY, cwd=gw.workdir)
    assert done.returncode == 2
    assert "403" in done.stderr
    assert 'admins: ["key:other"]' in done.stderr


async def test_chatgate_reload_finds_the_generated_admin_key(start_chatgate: StartChatgate) -> None:
    def configure(config: dict[str, Any]) -> None:
        fast_reload(config, watch=False)
        config["api_keys"] = []  # a fresh install: data/admin_key is generated

    gw = await start_chatgate(configure)
    edit(gw, lambda c: c["rate_limits"].update(free="20/minute"))
    done = await asyncio.to_thread(run_cli, "reload", "--config", str(gw.config_path), cwd=gw.workdir)
    assert done.returncode == 0, done.stderr
    assert "rate limit free: 10/minute -> 20/minute" in done.stdout
    await wait_config(gw, lambda c: c["last_reload"]["trigger"].startswith("api"))


async def test_chatgate_reload_says_when_nothing_runs(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate(fast_reload)
    await gw.stop()
    args = ("reload", "--config", str(gw.config_path), "--key", API_KEY)
    done = await asyncio.to_thread(run_cli, *args, cwd=gw.workdir)
    assert done.returncode == 2
    assert f"cannot reach chatgate at {gw.base_url}" in done.stderr


PEOPLE_MISTAKES = {
    "users: [{id: 'telegram:@bob'}]": ("users.0.id", "is not a user id"),
    "users: [{id: 'telegram:1', tier: gold}]": ("users.0.tier", "unknown tier 'gold'"),
    "users: [{id: 'telegram:1'}, {id: 'telegram:1', blocked: true}]": ("users.1.id", "listed twice"),
    "admins: ['key:nobody']": ("admins.0", "no API key is named 'nobody'"),
    "admins: ['telegram:1']\nusers: [{id: 'telegram:1', blocked: true}]": ("admins.0", "also blocked"),
    "access: {default: maybe}": ("access.default", "'allow' or 'deny'"),
    "access: {allow: ['tg:chat:1']}": ("access.allow.0", "neither a user"),
    "access: {deny: [telegram:1], typo: 1}": ("access.typo", "unknown key"),
}


@pytest.mark.parametrize("text", list(PEOPLE_MISTAKES))
def test_a_mistake_in_users_admins_or_access_is_named(text: str) -> None:
    """The new keys are checked as strictly as the rest: a typo never becomes a rule that
    silently matches nobody."""
    key, words = PEOPLE_MISTAKES[text]
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, "chatgate.yaml", {})
    assert caught.value.key == key
    assert words in caught.value.reason


def test_users_admins_and_access_as_the_issue_writes_them_are_valid() -> None:
    settings = parse_settings(
        """
users:
  - {id: "telegram:42", tier: paid}
  - {id: "discord:99", blocked: true}
admins: ["telegram:42"]
access:
  default: allow
  allow: ["telegram:chat:-100123"]
  deny: []
bots:
  - {name: b, platform: telegram, token: "", workflow: w, access: {default: deny, refusal: ""}}
""",
        "chatgate.yaml",
        {},
    )
    assert settings.users[0].tier == "paid"
    assert settings.users[1].blocked
    assert settings.access.allow == ["telegram:chat:-100123"]
    assert settings.bots[0].access is not None
    assert settings.bots[0].access.refusal == ""
