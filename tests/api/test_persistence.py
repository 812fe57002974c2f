"""Whatever chatgate acknowledged is still there after a restart, graceful or a crash.

Each story runs on SQLite and, when Debian's PostgreSQL is installed, on PostgreSQL too.
"""

from __future__ import annotations

import asyncio
import signal

from tests.api.support import chat_workflow, configured, create_workflow, execute, use_emulator, wait_until
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.chatgate import ChatgateProcess, StartChatgate


async def _write_everything(gw: ChatgateProcess) -> dict[str, str]:
    """Create, update and delete workflows and run a conversation; return what to look for."""
    async with gw.client() as http:
        kept = await create_workflow(http, chat_workflow("kept"))
        edited = await create_workflow(http, chat_workflow("before edit"))
        r = await http.put(f"/api/v1/workflows/{edited}", json=chat_workflow("after edit"))
        assert r.status == 200
        deleted = await create_workflow(http, chat_workflow("deleted"))
        assert (await http.delete(f"/api/v1/workflows/{deleted}")).status == 204
        status, run = await execute(http, kept, "remember this", session_id="conv")
        assert status == 200, run
    return {"kept": kept, "edited": edited, "deleted": deleted, "execution": run["execution_id"]}


async def _check_everything(gw: ChatgateProcess, ids: dict[str, str], emu: OpenAIEmulator) -> None:
    async with gw.client() as http:
        kept = await http.get(f"/api/v1/workflows/{ids['kept']}")
        assert kept.status == 200
        edited = await (await http.get(f"/api/v1/workflows/{ids['edited']}")).json()
        assert edited["name"] == "after edit"
        assert (await http.get(f"/api/v1/workflows/{ids['deleted']}")).status == 404
        record = await (await http.get(f"/api/v1/executions/{ids['execution']}")).json()
        assert record["status"] == "completed"
        assert record["outputs"]["response_node"] == {"text": "echo: remember this"}
        status, _ = await execute(http, ids["kept"], "what did I say?", session_id="conv")
        assert status == 200
    assert emu.requests[-1].body["messages"][1:] == [
        {"role": "user", "content": "remember this"},
        {"role": "assistant", "content": "echo: remember this"},
        {"role": "user", "content": "what did I say?"},
    ]


async def test_everything_survives_a_graceful_restart(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator, storage_url: str | None
) -> None:
    gw = await start_chatgate(configured(use_emulator(openai_emu), storage_url=storage_url))
    ids = await _write_everything(gw)
    assert await gw.stop(signal.SIGTERM) == 0
    await gw.start()
    await _check_everything(gw, ids, openai_emu)


async def test_everything_acknowledged_survives_a_crash(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator, storage_url: str | None
) -> None:
    gw = await start_chatgate(configured(use_emulator(openai_emu), storage_url=storage_url))
    ids = await _write_everything(gw)
    # Killed right after the last acknowledged response: no chance to flush anything.
    assert await gw.stop(signal.SIGKILL) == -signal.SIGKILL
    await gw.start()
    await _check_everything(gw, ids, openai_emu)


async def test_sigterm_lets_an_in_flight_execution_finish_and_keeps_it(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator, storage_url: str | None
) -> None:
    gw = await start_chatgate(configured(use_emulator(openai_emu), storage_url=storage_url))
    openai_emu.delay_s = 1.0
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        running = asyncio.create_task(execute(http, wid, "finish me", session_id="drain"))
        await wait_until(lambda: len(openai_emu.requests) == 1)
        stopping = asyncio.create_task(gw.stop(signal.SIGTERM))
        status, body = await running
        assert await stopping == 0
    assert status == 200, body
    assert body["result"] == {"content": "echo: finish me"}
    openai_emu.delay_s = 0
    await gw.start()
    async with gw.client() as http:
        record = await (await http.get(f"/api/v1/executions/{body['execution_id']}")).json()
        await execute(http, wid, "and then?", session_id="drain")
    assert record["status"] == "completed"
    assert openai_emu.requests[-1].body["messages"][1]["content"] == "finish me"
