"""An operator can run chatgate on SQLite or PostgreSQL with the same code and lose nothing."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from tests.emulators.openai_server import OpenAIEmulator
from tests.support.chatgate import StartChatgate, seed_workflow


def _on(storage_url: str, **extra: Any) -> Any:
    def configure(config: dict[str, Any]) -> None:
        config["storage"]["url"] = storage_url
        for section, values in extra.items():
            config.setdefault(section, {}).update(values)

    return configure


async def test_workflows_executions_and_history_survive_a_crash(
    start_chatgate: StartChatgate, storage_url: str, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(_on(storage_url, llm={"base_url": openai_emu.base_url, "api_key": "k"}))
    doc = seed_workflow(name="mine")
    doc["nodes"][1]["config"]["model"] = "stub-model"
    async with gw.client() as http:
        created = await (await http.post("/api/v1/workflows", json=doc)).json()
        wid = created["workflow_id"]
        r = await http.post(
            f"/api/v1/workflows/{wid}/execute",
            json={"inputs": {"user_input": "remember me"}, "session_id": "s1"},
        )
        first = await r.json()
        assert r.status == 200, first

    # Acknowledged means durable: a SIGKILL right after the answer loses nothing.
    await gw.stop(signal.SIGKILL)
    await gw.start()

    async with gw.client() as http:
        r = await http.get(f"/api/v1/workflows/{wid}")
        assert r.status == 200
        assert (await r.json())["nodes"] == doc["nodes"]
        r = await http.get(f"/api/v1/executions/{first['execution_id']}")
        record = await r.json()
        assert record["result"] == first["result"]
        assert record["outputs"]["response_node"]["text"] == "echo: remember me"
        r = await http.post(
            f"/api/v1/workflows/{wid}/execute",
            json={"inputs": {"user_input": "what did I say?"}, "session_id": "s1"},
        )
        assert r.status == 200
    sent = openai_emu.requests[-1].body["messages"]
    assert {"role": "user", "content": "remember me"} in sent
    assert {"role": "assistant", "content": "echo: remember me"} in sent


async def test_history_is_trimmed_to_the_window_and_reset_on_request(
    start_chatgate: StartChatgate, storage_url: str, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(
        _on(storage_url, engine={"history_turns": 2}, llm={"base_url": openai_emu.base_url, "api_key": "k"})
    )
    doc = seed_workflow(name="short-memory")
    doc["nodes"][1]["config"]["model"] = "stub-model"
    async with gw.client() as http:
        wid = (await (await http.post("/api/v1/workflows", json=doc)).json())["workflow_id"]
        for i in range(7):
            r = await http.post(
                f"/api/v1/workflows/{wid}/execute",
                json={"inputs": {"user_input": f"m{i}"}, "session_id": "chat"},
            )
            assert r.status == 200
    await gw.restart()  # history is read back from the database, not a cache
    async with gw.client() as http:
        r = await http.post(
            f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "last"}, "session_id": "chat"}
        )
        assert r.status == 200
        users = [m["content"] for m in openai_emu.requests[-1].body["messages"] if m["role"] == "user"]
        assert users == ["m5", "m6", "last"]

        r = await http.delete("/api/v1/sessions/chat")
        assert r.status == 200
        r = await http.post(
            f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "fresh"}, "session_id": "chat"}
        )
        assert r.status == 200
        users = [m["content"] for m in openai_emu.requests[-1].body["messages"] if m["role"] == "user"]
        assert users == ["fresh"]


async def test_a_burst_of_executions_is_recorded_in_full(
    start_chatgate: StartChatgate, storage_url: str
) -> None:
    gw = await start_chatgate(_on(storage_url))
    async with gw.client() as http:

        async def run(i: int) -> str:
            r = await http.post(
                "/api/v1/workflows/support_bot/execute",
                json={"inputs": {"user_input": f"n{i}"}, "session_id": f"s{i % 7}"},
            )
            body = await r.json()
            assert r.status == 200, body
            return str(body["execution_id"])

        ids = await asyncio.gather(*(run(i) for i in range(120)))
    await gw.stop(signal.SIGKILL)
    await gw.start()
    async with gw.client() as http:
        for execution_id in ids:
            r = await http.get(f"/api/v1/executions/{execution_id}")
            assert r.status == 200, execution_id
