"""A client streams an execution whose model calls tools: a workflow and an MCP server's tool
(a stdio server chatgate starts). Each call and its answer are events; only the final answer
streams as message deltas; the execution record keeps every call."""

from __future__ import annotations

import itertools
from typing import Any

from tests.api.support import SSE, use_emulator
from tests.emulators.openai_server import EmulatedCall, EmulatedReply, OpenAIEmulator
from tests.support.chatgate import StartChatgate
from tests.support.mcp import STDIO_COMMAND


def workflow(name: str, params: list[dict[str, Any]], *nodes: dict[str, Any]) -> dict[str, Any]:
    chain = ["start", *(n["id"] for n in nodes)]
    return {
        "name": name,
        "nodes": [{"id": "start", "type": "start", "config": {"input_params": params}}, *nodes],
        "connections": [{"from": a, "to": b} for a, b in itertools.pairwise(chain)],
    }


LOOKUP = workflow(
    "lookup_order",
    [{"name": "order"}],
    {"id": "end", "type": "end", "config": {"content": "order {{inputs.order}} shipped"}},
)
DESK = workflow(
    "desk",
    [{"name": "user_input"}],
    {
        "id": "answer",
        "type": "response",
        "config": {
            "model": "gpt-4o-mini",
            "tools": [
                {"workflow": "lookup_order", "description": "Look an order up"},
                {"mcp": "calc", "tools": ["add"]},
            ],
        },
    },
)


def configure(emu: OpenAIEmulator) -> Any:
    llm = use_emulator(emu)

    def apply(config: dict[str, Any]) -> None:
        llm(config)
        config["mcp_servers"] = {"calc": {"command": STDIO_COMMAND}}

    return apply


async def test_tool_calls_and_their_results_stream_as_events_and_stay_on_the_record(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    def reply(body: dict[str, Any]) -> str | EmulatedReply:
        answers = [m["content"] for m in body["messages"] if m["role"] == "tool"]
        if not answers:
            asked = (EmulatedCall("lookup_order", {"order": "A-7"}), EmulatedCall("add", {"a": 40, "b": 2}))
            return EmulatedReply("", asked)
        return "Found: " + " and ".join(answers)

    openai_emu.reply = reply
    gw = await start_chatgate(
        configure(openai_emu), workflows={"lookup_order.json": LOOKUP, "desk.json": DESK}
    )
    async with gw.client() as http:
        payload = {"inputs": {"user_input": "where is A-7, and 40+2?"}, "stream": True}
        async with http.post("/api/v1/workflows/desk/execute", json=payload) as r:
            assert r.status == 200
            events = await SSE(r).all()
        finished = events[-1][1]
        async with http.get(f"/api/v1/executions/{finished['execution_id']}") as r:
            record = await r.json()
    names = [name for name, data in events if data.get("node_id") == "answer"]
    # Two calls run side by side (which answers first is theirs to decide); then the answer.
    assert names[0] == "node_started"
    assert sorted(names[1:5]) == ["tool_call", "tool_call", "tool_result", "tool_result"]
    assert names[5:] == ["message_delta", "node_finished"]
    calls = {d["name"]: d for n, d in events if n == "tool_call"}
    results = {d["name"]: d for n, d in events if n == "tool_result"}
    assert calls["lookup_order"]["arguments"] == '{"order":"A-7"}'
    assert results["lookup_order"]["result"] == "order A-7 shipped"
    assert results["add"]["result"] == "42"
    assert results["add"]["call_id"] == calls["add"]["call_id"]
    deltas = [d["content"] for n, d in events if n == "message_delta"]
    assert "".join(deltas) == "Found: order A-7 shipped and 42"
    assert finished["result"] == {"content": "Found: order A-7 shipped and 42"}
    recorded = record["outputs"]["answer"]["tools"]
    assert [(c["name"], c["result"]) for c in recorded] == [
        ("lookup_order", "order A-7 shipped"),
        ("add", "42"),
    ]
