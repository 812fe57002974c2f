"""A client asks for ``"stream": true`` and watches the answer arrive as Server-Sent Events."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Any

import aiohttp

from tests.api.support import (
    SSE,
    assert_error,
    chat_workflow,
    create_workflow,
    in_flight,
    use_emulator,
    wait_until,
)
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.chatgate import StartChatgate


async def stream(
    http: aiohttp.ClientSession, wid: str, text: str
) -> tuple[aiohttp.ClientResponse, list[Any]]:
    payload = {"inputs": {"user_input": text}, "stream": True}
    async with http.post(f"/api/v1/workflows/{wid}/execute", json=payload) as r:
        return r, await SSE(r).all()


async def test_a_streamed_execution_reports_nodes_and_every_model_chunk_in_order(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu))
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        r, events = await stream(http, wid, "one two three four")
        plain = await (
            await http.post(
                f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "one two three four"}}
            )
        ).json()
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/event-stream")
    assert r.headers["X-Accel-Buffering"] == "no"
    assert r.headers["Cache-Control"] == "no-cache"
    names = [name for name, _ in events]
    assert names[:3] == ["node_started", "node_finished", "node_started"]
    assert names[-2:] == ["node_finished", "execution_finished"]
    assert events[0][1] == {"node_id": "start_node", "type": "start"}
    assert events[2][1] == {"node_id": "response_node", "type": "response"}
    assert {k: events[-2][1][k] for k in ("node_id", "type", "status", "attempts")} == {
        "node_id": "response_node",
        "type": "response",
        "status": "completed",
        "attempts": 1,
    }
    assert events[-2][1]["duration_ms"] >= 0
    assert openai_emu.requests[0].stream is True  # the model is asked to stream, not just the client
    # The emulator streams word by word: one message_delta per chunk, in order.
    deltas = [data["content"] for name, data in events if name == "message_delta"]
    assert deltas == ["echo: ", "one ", "two ", "three ", "four"]
    finished = events[-1][1]
    assert set(finished) == set(plain)
    assert finished["status"] == "completed"
    assert finished["result"] == {"content": "".join(deltas)}
    assert finished["execution_id"].startswith("exec_")
    assert finished["execution_id"] != plain["execution_id"]


async def test_chunks_reach_the_client_while_the_model_is_still_writing(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu))
    openai_emu.chunk_delay_s = 0.5
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        payload = {"inputs": {"user_input": "slowly now"}, "stream": True}
        async with http.post(f"/api/v1/workflows/{wid}/execute", json=payload) as r:
            sse = SSE(r)
            while (event := await sse.next()) is not None and event[0] != "message_delta":
                pass
            assert event == ("message_delta", {"content": "echo: ", "node_id": "response_node"})
            # The first chunk is here, yet the execution is still running.
            assert await in_flight(http) == 1
            rest = await sse.all()
    assert rest[-1][0] == "execution_finished"
    assert rest[-1][1]["result"] == {"content": "echo: slowly now"}


async def test_a_quiet_stream_gets_comment_pings(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(lambda c: (use_emulator(openai_emu)(c), c["server"].update(stream_ping_s=0.1)))
    openai_emu.delay_s = 0.6
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        payload = {"inputs": {"user_input": "wait"}, "stream": True}
        async with http.post(f"/api/v1/workflows/{wid}/execute", json=payload) as r:
            sse = SSE(r)
            events = await sse.all()
    assert sse.comments
    assert all(c == ": ping" for c in sse.comments)
    assert events[-1][0] == "execution_finished"


async def test_a_model_failure_ends_the_stream_with_an_error_event(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu, max_retries=0))
    openai_emu.fail_next(503)
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        r, events = await stream(http, wid, "hi")
        recorded = await (await http.get(f"/api/v1/executions/{events[-1][1]['execution_id']}")).json()
    assert r.status == 200  # the stream had already begun
    assert [name for name, _ in events] == ["node_started", "node_finished", "node_started", "error"]
    body = events[-1][1]
    error = assert_error(body, "execution_failed")
    assert body["status"] == "failed"
    assert "503" in error["message"]
    assert recorded["status"] == "failed"


async def test_a_timeout_mid_answer_ends_the_stream_with_an_error_after_the_first_chunks(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu))
    # The first words come well within the node's time limit, even on a busy machine; the
    # whole answer (ten words) well after it.
    openai_emu.chunk_delay_s = 0.5
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow(timeout_s=2.5))
        _, events = await stream(http, wid, "a b c d e f g h i j")
    names = [name for name, _ in events]
    assert "message_delta" in names
    assert names[-1] == "error"
    body = events[-1][1]
    error = assert_error(body, "execution_failed")
    assert "timed out" in error["message"]
    assert body["status"] == "failed"


async def test_bad_inputs_are_refused_before_the_stream_opens(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate()
    async with gw.client() as http:
        r = await http.post("/api/v1/workflows/support_bot/execute", json={"inputs": {}, "stream": True})
        error = assert_error(await r.json(), "invalid_request")
    assert r.status == 400
    assert r.headers["Content-Type"].startswith("application/json")
    assert "user_input" in error["message"]


async def test_the_offline_model_streams_too(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate()
    text = "the offline model splits a long enough answer into several chunks"
    async with gw.client() as http:
        _, events = await stream(http, "support_bot", text)
    deltas = [data["content"] for name, data in events if name == "message_delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == f"(echo) {text}"
    assert events[-1][1]["result"] == {"content": f"(echo) {text}"}


async def test_a_client_that_leaves_mid_stream_does_not_lose_the_execution(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu))
    openai_emu.chunk_delay_s = 0.2
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        payload = {"inputs": {"user_input": "a b c d"}, "stream": True, "session_id": "leaver"}
        async with http.post(f"/api/v1/workflows/{wid}/execute", json=payload) as r:
            sse = SSE(r)
            while (event := await sse.next()) is not None and event[0] != "message_delta":
                pass
        # Gone after the first chunk; the execution still finishes and joins the session's history.
        await wait_until(lambda: _zero(http), within_s=10)
        status, body = await _execute_session(http, wid)
    assert status == 200, body
    assert openai_emu.requests[-1].body["messages"][-3:-1] == [
        {"role": "user", "content": "a b c d"},
        {"role": "assistant", "content": "echo: a b c d"},
    ]


async def _zero(http: aiohttp.ClientSession) -> bool:
    return await in_flight(http) == 0


async def _execute_session(http: aiohttp.ClientSession, wid: str) -> tuple[int, Any]:
    payload = {"inputs": {"user_input": "again"}, "session_id": "leaver"}
    async with http.post(f"/api/v1/workflows/{wid}/execute", json=payload) as r:
        return r.status, await r.json()


async def test_a_failure_outside_the_workflow_still_ends_the_stream(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate()
    # Fault injection: the database refuses every execution record from now on.
    with contextlib.closing(sqlite3.connect(gw.workdir / "data" / "chatgate.db")) as db:
        db.execute(
            "CREATE TRIGGER refuse_records BEFORE INSERT ON executions "
            "BEGIN SELECT RAISE(ABORT, 'injected by the test'); END"
        )
    marker = "streamed-user-text-7d1c"
    async with gw.client() as http:
        payload = {"inputs": {"user_input": marker}, "stream": True}
        async with http.post("/api/v1/workflows/support_bot/execute", json=payload) as r:
            events = await asyncio.wait_for(SSE(r).all(), 10)  # it ends (it used to ping forever)
    assert r.status == 200
    name, body = events[-1]
    assert name == "error"
    assert_error(body, "internal_error")
    logs = gw.logs()
    # Logged once, server side, with its traceback.
    assert logs.count(" ERROR ") == 1
    assert "Traceback" in logs
    assert "injected by the test" in logs
    assert marker not in logs  # the failed statement's parameters (the user's text) are not
