"""Session variables over REST: what one execution of a session remembers, the next one
reads as ``{{session.name}}``, across a restart too; deleting the session forgets it."""

from __future__ import annotations

import signal
from typing import Any

import aiohttp

from tests.api.shared_server import SharedServer
from tests.api.support import assert_error, configured, create_workflow, execute
from tests.support.chatgate import StartChatgate
from tests.support.recall_workflow import greeting, recall_workflow


async def said(http: aiohttp.ClientSession, wid: str, text: str, session_id: str | None = None) -> str:
    status, body = await execute(http, wid, text, session_id=session_id)
    assert status == 200, body
    content: str = body["result"]["content"]
    return content


async def record_of(http: aiohttp.ClientSession, body: dict[str, Any]) -> dict[str, Any]:
    async with http.get(f"/api/v1/executions/{body['execution_id']}") as r:
        record: dict[str, Any] = await r.json()
        assert r.status == 200, record
        return record


async def test_a_name_remembered_in_one_execution_is_read_by_the_next(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        wid = await create_workflow(http, recall_workflow())
        status, first = await execute(http, wid, "Ada", session_id="conv")
        assert status == 200, first
        # Nothing set it yet: {{session.name}} was null, and empty in text.
        assert first["result"]["content"] == greeting("Ada")
        assert (await record_of(http, first))["outputs"]["recall"] == {"before_raw": None, "before": "nobody"}
        assert await said(http, wid, "Bo", "conv") == greeting("Bo", before="Ada")
        assert await said(http, wid, "Cy", "conv") == greeting("Cy", before="Bo")
        # Another session, and an execution with none, hold nothing of it.
        assert await said(http, wid, "Dee", "elsewhere") == greeting("Dee")
        assert await said(http, wid, "Eve") == greeting("Eve")
        assert await said(http, wid, "Fay", "conv") == greeting("Fay", before="Cy")


async def test_without_a_session_the_session_scope_lasts_one_execution(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        wid = await create_workflow(http, recall_workflow())
        # Inside the execution the later node reads what was set ("Hello Ada"), and nothing is kept.
        assert await said(http, wid, "Ada") == greeting("Ada")
        assert await said(http, wid, "Bo") == greeting("Bo")


async def test_deleting_the_session_forgets_its_variables(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        wid = await create_workflow(http, recall_workflow())
        await said(http, wid, "Ada", "conv")
        assert await said(http, wid, "Bo", "conv") == greeting("Bo", before="Ada")  # now read, and cached
        async with http.delete("/api/v1/sessions/conv") as r:
            assert r.status == 200, await r.text()
        assert await said(http, wid, "Cy", "conv") == greeting("Cy")


async def test_another_key_cannot_touch_a_session_of_the_same_name(shared_server: SharedServer) -> None:
    async with (
        shared_server.client(shared_server.new_key()) as http,
        shared_server.client(shared_server.new_key()) as other,
    ):
        wid = await create_workflow(http, recall_workflow())
        other_wid = await create_workflow(other, recall_workflow())
        await said(http, wid, "Ada", "conv")
        assert await said(other, other_wid, "Mallory", "conv") == greeting("Mallory")
        async with other.delete("/api/v1/sessions/conv") as r:
            assert r.status == 200
        assert await said(http, wid, "Bo", "conv") == greeting("Bo", before="Ada")


async def test_a_value_too_big_to_keep_fails_and_the_old_one_stays(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        wid = await create_workflow(http, recall_workflow())
        await said(http, wid, "Ada", "conv")
        status, body = await execute(http, wid, "A" * 20_000, session_id="conv")
        assert status == 502, body
        error = assert_error(body, "execution_failed")
        assert "session variable 'name'" in error["message"]
        assert await said(http, wid, "Bo", "conv") == greeting("Bo", before="Ada")


async def test_session_variables_survive_a_crash_right_after_the_answer(
    start_chatgate: StartChatgate, storage_url: str | None
) -> None:
    gw = await start_chatgate(configured(storage_url=storage_url))
    async with gw.client() as http:
        wid = await create_workflow(http, recall_workflow())
        await said(http, wid, "Ada", "conv")
        assert await said(http, wid, "Bo", "conv") == greeting("Bo", before="Ada")
    # Killed right after the acknowledged answer: the variable was committed with the record.
    assert await gw.stop(signal.SIGKILL) == -signal.SIGKILL
    await gw.start()
    async with gw.client() as http:
        assert await said(http, wid, "Cy", "conv") == greeting("Cy", before="Bo")
        async with http.delete("/api/v1/sessions/conv") as r:
            assert r.status == 200
    assert await gw.stop(signal.SIGTERM) == 0
    await gw.start()
    async with gw.client() as http:
        assert await said(http, wid, "Dee", "conv") == greeting("Dee")
