"""An admin adds an MCP server to the running chatgate's config: the next execution can use
its tools; its secrets never reach the log; on shutdown chatgate stops the server it started."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.api.support import use_emulator
from tests.config.reload_support import edit, fast_reload, wait_version
from tests.emulators.openai_server import EmulatedCall, EmulatedReply, OpenAIEmulator
from tests.support.chatgate import StartChatgate
from tests.support.mcp import STDIO_COMMAND

DESK = {
    "name": "desk",
    "nodes": [
        {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}},
        {"id": "answer", "type": "response", "config": {"model": "gpt-4o-mini", "tools": [{"mcp": "calc"}]}},
    ],
    "connections": [{"from": "start", "to": "answer"}],
}
ENV_SECRET = "mcp-env-secret-0123456789"


def asks_for_pid(body: dict[str, Any]) -> str | EmulatedReply:
    answers = [m["content"] for m in body["messages"] if m["role"] == "tool"]
    return answers[0] if answers else EmulatedReply("", (EmulatedCall("pid", {}),))


async def test_an_mcp_server_added_by_reload_serves_the_next_execution_and_stops_with_chatgate(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    def configure(config: dict[str, Any]) -> None:
        fast_reload(config)
        use_emulator(openai_emu)(config)

    openai_emu.reply = asks_for_pid
    gw = await start_chatgate(configure, workflows={"desk.json": DESK})
    body = {"inputs": {"user_input": "which pid?"}}
    async with gw.client() as http:
        r = await http.post("/api/v1/workflows/desk/execute", json=body)
        assert r.status == 502
        assert "no MCP server 'calc' is configured" in (await r.json())["error"]["message"]

        edit(
            gw, lambda c: c.update(mcp_servers={"calc": {"command": STDIO_COMMAND, "env": {"T": ENV_SECRET}}})
        )
        await wait_version(gw, 2)
        r = await http.post("/api/v1/workflows/desk/execute", json=body)
        assert r.status == 200, await r.text()
        pid = int((await r.json())["result"]["content"])
    os.kill(pid, 0)  # running, started by chatgate
    await gw.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert ENV_SECRET not in gw.logs()
