"""A new user sets a bot token or a bot's workflow wrongly: ``check-config`` and ``serve``
say so in one line naming the key, before anything runs, and never print the token."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import yaml

from tests.cli.test_cli import CHATGATE, check_config, clean_env
from tests.support.chatgate import ROOT, SEED_WORKFLOW, base_config
from tests.support.net import free_port

SHIPPED = ROOT / "config" / "chatgate.yaml"


def test_check_config_refuses_a_malformed_telegram_token_naming_the_key_not_the_token() -> None:
    done = check_config(SHIPPED, TELEGRAM_BOT_TOKEN="fake")
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert "bots.0.token: not a Telegram bot token" in line
    assert f"{SHIPPED}:" in line
    assert "fake" not in done.stdout + done.stderr


def test_check_config_accepts_tokens_of_the_right_shape() -> None:
    done = check_config(
        SHIPPED,
        TELEGRAM_BOT_TOKEN="123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ew",
        DISCORD_BOT_TOKEN="MTA0NTY3ODkwMTIzNDU2Nzg5MA.GhIjKl.abcdefghijklmnopqrstuvwxyz012345",
    )
    assert done.returncode == 0, done.stderr


def bot_naming(tmp_path: Path, workflow: str) -> Path:
    config = base_config(free_port(), tmp_path)
    config["bots"] = [{"name": "tg", "platform": "telegram", "token": "", "workflow": workflow}]
    (tmp_path / "workflows").mkdir(exist_ok=True)
    shutil.copy(SEED_WORKFLOW, tmp_path / "workflows" / "support_bot.json")
    path = tmp_path / "chatgate.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_check_config_refuses_a_bot_naming_a_workflow_no_file_defines(tmp_path: Path) -> None:
    done = check_config(bot_naming(tmp_path, "support_bto"))
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert "bots.0.workflow: unknown workflow 'support_bto' (did you mean 'support_bot'?)" in line
    assert "known workflows (from workflows_dir): support_bot" in line


def test_check_config_leaves_a_wf_id_to_the_server_which_has_the_database(tmp_path: Path) -> None:
    done = check_config(bot_naming(tmp_path, "wf_0123456789abcdef"))
    assert done.returncode == 0, done.stderr


async def serve_once(path: Path) -> tuple[int | None, str]:
    proc = await asyncio.create_subprocess_exec(
        str(CHATGATE),
        "serve",
        "--config",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=clean_env(),
        cwd=path.parent,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode, out.decode()


async def test_serve_refuses_to_start_a_bot_naming_a_missing_workflow(tmp_path: Path) -> None:
    path = bot_naming(tmp_path, "support_bto")
    code, out = await serve_once(path)
    assert code == 2, out
    assert "cannot start:" in out
    assert "bots.0.workflow: unknown workflow 'support_bto'" in out
    assert "Traceback" not in out
    offline = check_config(path).stderr.strip().removeprefix("invalid: ")
    assert f"cannot start: {offline}" in out  # the same verdict


async def test_serve_checks_a_wf_id_against_the_database(tmp_path: Path) -> None:
    code, out = await serve_once(bot_naming(tmp_path, "wf_0123456789abcdef"))
    assert code == 2, out
    assert "bots.0.workflow: no stored workflow has this id 'wf_0123456789abcdef'" in out
    assert "Traceback" not in out
