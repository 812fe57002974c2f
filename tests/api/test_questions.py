"""Over REST a workflow asks and waits: execute answers ``waiting`` with the question, and
``POST /executions/{id}/resume`` answers it, once, even after the server restarted; a second
answer is a 409, another key's is a 404; streaming sends ``event: question`` and ends."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest

from tests.api.support import (
    SSE,
    assert_error,
    configured,
    create_workflow,
    execute,
    use_emulator,
    wait_until,
)
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.chatgate import OTHER_KEY, StartChatgate

ASK = "Which size, {{inputs.user_input}}?"
SIZES = [{"id": "small", "label": "Small cup"}, {"id": "large", "label": "Large cup"}]


def coffee() -> dict[str, Any]:
    return {
        "name": "coffee",
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}},
            {"id": "ask", "type": "question", "config": {"question": ASK, "options": SIZES}},
            {"id": "small", "type": "template", "config": {"template": "A small one ({{ask.answer}})."}},
            {"id": "large", "type": "template", "config": {"template": "A large one ({{ask.answer}})."}},
        ],
        "connections": [
            {"from": "start", "to": "ask"},
            {"from": "ask", "port": "small", "to": "small"},
            {"from": "ask", "port": "large", "to": "large"},
        ],
    }  # fmt: skip


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
async def test_a_question_waits_across_a_restart_and_is_answered_once(
    start_chatgate: StartChatgate, storage_url: str | None, stop: signal.Signals
) -> None:
    gw = await start_chatgate(configured(storage_url=storage_url))
    async with gw.client() as http:
        wid = await create_workflow(http, coffee())
        status, asked = await execute(http, wid, "Ann")
        assert status == 200, asked
        assert asked["status"] == "waiting"
        assert asked["question"] == {"text": "Which size, Ann?", "options": SIZES}
    execution_id = asked["execution_id"]
    # Stopped cleanly or killed: nothing of it lived only in memory.
    assert await gw.stop(stop) == (0 if stop == signal.SIGTERM else -signal.SIGKILL)
    await gw.start()
    async with gw.client() as http:
        shown = await (await http.get(f"/api/v1/executions/{execution_id}")).json()
        assert shown["status"] == "waiting"
        assert shown["question"]["text"] == "Which size, Ann?"
        async with gw.client(OTHER_KEY) as other:
            r = await other.post(f"/api/v1/executions/{execution_id}/resume", json={"option": "small"})
            assert r.status == 404
            assert_error(await r.json(), "not_found")
        # Two answers at once: one goes on, the other is told it was answered.
        first, second = await asyncio.gather(
            http.post(f"/api/v1/executions/{execution_id}/resume", json={"answer": "large CUP"}),
            http.post(f"/api/v1/executions/{execution_id}/resume", json={"option": "small"}),
        )
        bodies = [await first.json(), await second.json()]
        assert sorted([first.status, second.status]) == [200, 409], bodies
        done = bodies[0] if first.status == 200 else bodies[1]
        assert done["status"] == "completed"
        assert done["result"]["content"] in ("A large one (large CUP).", "A small one (Small cup).")
        assert_error(bodies[1] if first.status == 200 else bodies[0], "conflict")
        shown = await (await http.get(f"/api/v1/executions/{execution_id}")).json()
        assert shown["status"] == "completed"
        assert "question" not in shown


async def test_the_sessions_next_execute_answers_and_bad_answers_are_refused(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate()
    async with gw.client() as http:
        wid = await create_workflow(http, coffee())
        status, asked = await execute(http, wid, "Ann", session_id="chat")
        assert status == 200
        assert asked["status"] == "waiting"
        for bad in ({}, {"answer": "x", "option": "small"}, {"answer": 3}, {"answer": "x" * 5000}):
            r = await http.post(f"/api/v1/executions/{asked['execution_id']}/resume", json=bad)
            assert r.status == 400, bad
            assert_error(await r.json(), "invalid_request")
        status, again = await execute(http, wid, "medium", session_id="chat")
        assert status == 200
        assert again["execution_id"] == asked["execution_id"]
        assert again["status"] == "waiting"  # matched nothing: asked again
        status, done = await execute(http, wid, "small", session_id="chat")
        assert status == 200
        assert done["execution_id"] == asked["execution_id"]
        assert done["result"]["content"] == "A small one (small)."
        r = await http.post(f"/api/v1/executions/{asked['execution_id']}/resume", json={"option": "small"})
        assert r.status == 409
        assert_error(await r.json(), "conflict")
        r = await http.post("/api/v1/executions/exec_nope/resume", json={"option": "small"})
        assert r.status == 404


async def test_a_stream_sends_the_question_and_ends_with_the_waiting_execution(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate()
    async with gw.client() as http:
        wid = await create_workflow(http, coffee())
        payload = {"inputs": {"user_input": "Ann"}, "stream": True}
        async with http.post(f"/api/v1/workflows/{wid}/execute", json=payload) as r:
            assert r.status == 200
            events = await SSE(r).all()
        names = [name for name, _ in events]
        assert "question" in names
        question = dict(events)["question"]
        assert question == {"node_id": "ask", "text": "Which size, Ann?", "options": SIZES}
        assert names[-1] == "execution_finished"
        assert events[-1][1]["status"] == "waiting"


async def test_an_unanswered_question_times_out_on_the_server(start_chatgate: StartChatgate) -> None:
    def quick_sweeps(config: dict[str, Any]) -> None:
        config["engine"] = {"question_sweep_s": 0.1}

    gw = await start_chatgate(quick_sweeps)
    doc = coffee()
    doc["nodes"][1]["config"]["timeout_s"] = 0.3
    doc["nodes"].append({"id": "late", "type": "template", "config": {"template": "Too late."}})
    doc["connections"].append({"from": "ask", "port": "timeout", "to": "late"})
    async with gw.client() as http:
        wid = await create_workflow(http, doc)
        _, asked = await execute(http, wid, "Ann")
        url = f"/api/v1/executions/{asked['execution_id']}"

        async def timed_out() -> bool:
            shown = await (await http.get(url)).json()
            return bool(shown["status"] == "completed")

        await wait_until(timed_out, within_s=10)
        shown = await (await http.get(url)).json()
        assert shown["result"]["content"] == "Too late."
        assert shown["nodes"]["ask"]["port"] == "timeout"
        r = await http.post(f"{url}/resume", json={"option": "small"})
        assert r.status == 409


async def test_a_process_killed_while_it_resumes_leaves_the_question_to_answer_again(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    def short_runs(config: dict[str, Any]) -> None:
        config.setdefault("engine", {})["execution_timeout_s"] = 1.5

    gw = await start_chatgate(configured(use_emulator(openai_emu), short_runs))
    doc = coffee()
    doc["nodes"][2] = {"id": "small", "type": "response", "config": {"model": "gpt-4o-mini"}}
    async with gw.client() as http:
        wid = await create_workflow(http, doc)
        _, asked = await execute(http, wid, "Ann")
        execution_id = asked["execution_id"]
        openai_emu.hang_next()  # the resumed run is still at the model when the process dies
        answering = asyncio.ensure_future(
            http.post(f"/api/v1/executions/{execution_id}/resume", json={"option": "small"})
        )
        await wait_until(lambda: len(openai_emu.requests) == 1)
        assert await gw.stop(signal.SIGKILL) == -signal.SIGKILL
        answering.cancel()
    await gw.start()
    async with gw.client() as http:
        shown = await (await http.get(f"/api/v1/executions/{execution_id}")).json()
        assert shown["status"] == "waiting"  # the answer died with the process; the question did not

        async def answered() -> bool:
            r = await http.post(f"/api/v1/executions/{execution_id}/resume", json={"option": "small"})
            body = await r.json()
            assert r.status in (200, 409), body  # 409 while the dead resume's claim lasts
            return r.status == 200 and body["status"] == "completed"

        await wait_until(answered, within_s=10)
        assert len(openai_emu.requests) == 2
