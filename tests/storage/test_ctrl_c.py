"""Ctrl-C in the terminal running ``chatgate serve`` stops it quietly, SQLite helper and all.

A terminal sends SIGINT to the whole foreground process group: the server and the SQLite
insert process it started. Here the server runs in a process group of its own, which gets
the signal the way a terminal would send it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.chatgate import SEED_WORKFLOW, ChatgateProcess, base_config
from tests.support.net import free_port
from tests.support.processes import child_pids


class InItsOwnTerminal(ChatgateProcess):
    """``chatgate serve`` leading its own process group, as a shell's foreground job does."""

    new_session = True


@pytest.fixture
async def foreground(tmp_path: Path) -> AsyncIterator[ChatgateProcess]:
    (tmp_path / "workflows").mkdir()
    shutil.copy(SEED_WORKFLOW, tmp_path / "workflows" / "support_bot.json")
    no_real_model = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
    gw = InItsOwnTerminal(tmp_path, base_config(free_port(), tmp_path), no_real_model)
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop(signal.SIGKILL)


async def test_ctrl_c_stops_the_server_without_a_traceback(foreground: ChatgateProcess) -> None:
    async with foreground.client() as http:
        r = await http.post("/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "hi"}})
        assert r.status == 200
    assert foreground.proc is not None
    helpers = [
        pid for pid in child_pids(foreground.proc.pid) if b"engine/store/sqlite/process.py" in _cmdline(pid)
    ]
    assert helpers, "the SQLite insert process should be running after an execution"

    os.killpg(foreground.proc.pid, signal.SIGINT)  # what Ctrl-C does
    assert await asyncio.wait_for(foreground.proc.wait(), 15) == 0
    logs = foreground.logs()
    assert "Traceback" not in logs, logs
    assert "KeyboardInterrupt" not in logs, logs
    assert "stopped" in logs


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
