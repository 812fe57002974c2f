"""A developer looks an execution up afterwards: every node's outputs, and failures too."""

from __future__ import annotations

from typing import Any

from tests.api.support import (
    ISO_Z,
    MODEL,
    assert_error,
    chat_workflow,
    create_workflow,
    execute,
    use_emulator,
)
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.chatgate import OTHER_KEY, StartChatgate


def two_step_workflow() -> dict[str, Any]:
    """start(topic, count) -> draft -> polish, on the offline model."""
    return {
        "name": "two_step",
        "nodes": [
            {
                "id": "start",
                "type": "start",
                "config": {
                    "input_params": [
                        {"name": "topic", "type": "string"},
                        {"name": "count", "type": "number", "default": 3},
                    ]
                },
            },
            {
                "id": "draft",
                "type": "response",
                "config": {"model": "echo", "prompt": "{{inputs.count}} on {{inputs.topic}}"},
            },
            {
                "id": "polish",
                "type": "response",
                "config": {"model": "echo", "prompt": "polish: {{draft.text}}"},
            },
        ],
        "connections": [{"from": "start", "to": "draft"}, {"from": "draft", "to": "polish"}],
    }


async def test_an_execution_record_has_every_nodes_outputs(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate()
    async with gw.client() as http:
        wid = await create_workflow(http, two_step_workflow())
        run = await (
            await http.post(
                f"/api/v1/workflows/{wid}/execute", json={"inputs": {"topic": "tea"}, "session_id": "mine"}
            )
        ).json()
        r = await http.get(f"/api/v1/executions/{run['execution_id']}")
        record = await r.json()
    assert r.status == 200, record
    assert {k: record[k] for k in run} == run
    assert record["workflow_id"] == wid
    assert record["session_id"] == "mine"
    assert record["inputs"] == {"topic": "tea", "count": 3}
    assert record["outputs"] == {
        "start": {"topic": "tea", "count": 3},
        "draft": {"text": "(echo) 3 on tea"},
        "polish": {"text": "(echo) polish: (echo) 3 on tea"},
    }
    assert record["result"] == {"content": "(echo) polish: (echo) 3 on tea"}
    assert ISO_Z.match(record["start_time"])
    assert ISO_Z.match(record["end_time"])
    assert record["start_time"] <= record["end_time"]


async def test_another_key_cannot_see_my_execution(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate()
    async with gw.client() as http, gw.client(OTHER_KEY) as other:
        # Even on a file workflow that both keys may run, the execution is the caller's own.
        _, run = await execute(http, "support_bot", "private words")
        r = await other.get(f"/api/v1/executions/{run['execution_id']}")
        error = assert_error(await r.json(), "not_found")
    assert r.status == 404
    assert "private words" not in str(error)


async def test_a_failed_execution_is_recorded_with_its_error(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu, max_retries=0))
    openai_emu.fail_next(500)
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        status, failed = await execute(http, wid, "doomed")
        record = await (await http.get(f"/api/v1/executions/{failed['execution_id']}")).json()
    assert status == 502
    assert record["status"] == "failed"
    assert record["result"] is None
    assert record["error"]["code"] == "execution_failed"
    assert MODEL in record["error"]["message"]
    assert set(record["error"]) == {"code", "message", "details"}  # the envelope's, nothing internal
    assert record["outputs"] == {"start_node": {"user_input": "doomed"}}  # what ran before the failure
    assert ISO_Z.match(record["end_time"])
