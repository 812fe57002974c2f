"""A ``response`` node lets the model call tools: workflows of the same key, over the real
openai client against the emulator. Calls in one round run side by side, failures reach the
model as the tool's error, and the rounds are bounded."""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import pytest

from engine.errors import InvalidWorkflow
from engine.workflow.events import Event, MessageDelta, ToolAnswered, ToolCalled
from engine.workflow.nodes import REGISTRY, NodeConfig, NodeContext
from tests.emulators.openai_server import EmulatedCall, EmulatedReply, OpenAIEmulator
from tests.engine.executors import MakeExecutor
from tests.engine.test_subworkflows import Parts, doc, node, wired

ORDER_PARAMS = [
    {"name": "order", "description": "the order number"},
    {"name": "verbose", "type": "boolean", "required": False},
]


def lookup_order() -> dict[str, Any]:
    """Answers ``order <number>: shipped``, with the status as an end output."""
    return doc(
        "lookup_order",
        ORDER_PARAMS,
        [node("end", "end", content="order {{inputs.order}}: shipped", outputs={"status": "shipped"})],
    )


def asking(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m["role"] == "tool"]


def tool_user(tools: list[dict[str, Any]], **config: Any) -> dict[str, Any]:
    return doc(
        "desk",
        [{"name": "user_input"}],
        [node("answer", "response", model="gpt-4o-mini", tools=tools, **config)],
    )


@pytest.fixture
def emu_parts(executor: MakeExecutor, openai_emu: OpenAIEmulator) -> Parts:
    return wired(executor(openai_emu, max_depth=3, max_items=10))


async def test_the_model_calls_a_workflow_and_answers_with_what_it_returned(
    emu_parts: Parts, openai_emu: OpenAIEmulator
) -> None:
    lookup = await emu_parts.create(lookup_order())
    desk = await emu_parts.create(
        tool_user([{"workflow": lookup.workflow_id, "description": "Look an order up"}])
    )

    def reply(body: dict[str, Any]) -> str | EmulatedReply:
        answers = asking(body)
        if not answers:
            return EmulatedReply("", (EmulatedCall("lookup_order", {"order": "A-1"}),))
        return "Your order: " + answers[0]["content"]

    openai_emu.reply = reply
    events: list[Event] = []
    record = await emu_parts.executor.execute(
        desk.workflow_id, desk.compiled, {"user_input": "where is A-1?"}, owner="alice", sink=events.append
    )
    assert record.result == {"content": 'Your order: {"content":"order A-1: shipped","status":"shipped"}'}
    first = openai_emu.requests[0].body
    assert first["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "lookup_order",
                "description": "Look an order up",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "order": {"type": "string", "description": "the order number"},
                        "verbose": {"type": "boolean"},
                    },
                    "required": ["order"],
                },
            },
        }
    ]
    second = openai_emu.requests[1].body
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "lookup_order"
    (call,) = record.outputs["answer"]["tools"]
    assert call["name"] == "lookup_order"
    assert json.loads(call["arguments"]) == {"order": "A-1"}
    assert "shipped" in call["result"]
    kinds = [type(e) for e in events if isinstance(e, ToolCalled | ToolAnswered | MessageDelta)]
    assert kinds == [ToolCalled, ToolAnswered, MessageDelta]  # only the final answer streams
    assert [e.content for e in events if isinstance(e, MessageDelta)] == [record.result["content"]]


class MeetConfig(NodeConfig):
    me: str
    other: str


class MeetNode:
    """Arrives, then waits (briefly) for the other to arrive: two of them finish only when
    they run at the same time."""

    type_name: ClassVar[str] = "meet"
    config_model: ClassVar[type[NodeConfig]] = MeetConfig
    instant: ClassVar[bool] = False
    arrived: ClassVar[dict[str, asyncio.Event]] = {}

    def __init__(self, node_id: str, config: MeetConfig) -> None:
        self.config, self.timeout_s = config, config.timeout_s

    def outputs(self) -> frozenset[str]:
        return frozenset({"met"})

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        self.arrived.setdefault(self.config.me, asyncio.Event()).set()
        other = self.arrived.setdefault(self.config.other, asyncio.Event())
        await asyncio.wait_for(other.wait(), 3)
        return {"met": self.config.other}


async def test_two_calls_in_one_round_run_at_the_same_time(
    emu_parts: Parts, openai_emu: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(REGISTRY, MeetNode.type_name, MeetNode)
    monkeypatch.setattr(MeetNode, "arrived", {})
    ids = []
    for me, other in (("alice", "bob"), ("bob", "alice")):
        made = await emu_parts.create(
            doc(
                f"meet_{me}",
                [],
                [node("meet", "meet", me=me, other=other), node("end", "end", content="met {{meet.met}}")],
            )
        )
        ids.append(made.workflow_id)
    desk = await emu_parts.create(tool_user([{"workflow": i} for i in ids]))

    def reply(body: dict[str, Any]) -> str | EmulatedReply:
        answers = asking(body)
        if not answers:
            return EmulatedReply("", (EmulatedCall("meet_alice", {}), EmulatedCall("meet_bob", {})))
        return " / ".join(a["content"] for a in answers)

    openai_emu.reply = reply
    record = await emu_parts.executor.execute(
        desk.workflow_id, desk.compiled, {"user_input": "meet"}, owner="alice"
    )
    assert record.result == {"content": "met bob / met alice"}


async def test_a_failing_tool_is_told_to_the_model_and_the_run_goes_on(
    emu_parts: Parts, openai_emu: OpenAIEmulator
) -> None:
    lookup = await emu_parts.create(lookup_order())
    desk = await emu_parts.create(tool_user([{"workflow": lookup.workflow_id}]))

    def reply(body: dict[str, Any]) -> str | EmulatedReply:
        answers = asking(body)
        if not answers:
            return EmulatedReply(
                "",
                (
                    EmulatedCall("lookup_order", {"verbose": True}),  # the order is missing
                    EmulatedCall("lookup_order", "{not json"),
                    EmulatedCall("drop_tables", {}),
                ),
            )
        return "\n".join(a["content"] for a in answers)

    openai_emu.reply = reply
    events: list[Event] = []
    record = await emu_parts.executor.execute(
        desk.workflow_id, desk.compiled, {"user_input": "?"}, owner="alice", sink=events.append
    )
    assert record.status == "completed"
    missing, bad_json, unknown = record.result["content"].split("\n")  # type: ignore[index]
    assert missing.startswith("error: ")
    assert "missing required input 'order'" in missing
    assert bad_json == "error: arguments are not valid JSON"
    assert unknown == "error: there is no tool 'drop_tables'; the tools are: lookup_order"
    errors = [e.error for e in events if isinstance(e, ToolAnswered)]
    assert errors == [line.removeprefix("error: ") for line in (missing, bad_json, unknown)]
    assert [c["error"] for c in record.outputs["answer"]["tools"]] == errors


async def test_after_max_tool_rounds_the_model_must_answer_without_tools(
    emu_parts: Parts, openai_emu: OpenAIEmulator
) -> None:
    lookup = await emu_parts.create(lookup_order())
    desk = await emu_parts.create(tool_user([{"workflow": lookup.workflow_id}], max_tool_rounds=2))

    def reply(body: dict[str, Any]) -> str | EmulatedReply:
        if body.get("tool_choice") == "none":
            return f"I looked {len(asking(body))} times"
        return EmulatedReply("", (EmulatedCall("lookup_order", {"order": "A-1"}),))  # never satisfied

    openai_emu.reply = reply
    events: list[Event] = []
    record = await emu_parts.executor.execute(
        desk.workflow_id, desk.compiled, {"user_input": "?"}, owner="alice", sink=events.append
    )
    assert record.result == {"content": "I looked 2 times"}
    assert len(openai_emu.requests) == 3
    assert [c["round"] for c in record.outputs["answer"]["tools"]] == [1, 2]
    assert "".join(e.content for e in events if isinstance(e, MessageDelta)) == "I looked 2 times"


async def test_a_response_without_tools_sends_none(emu_parts: Parts, openai_emu: OpenAIEmulator) -> None:
    desk = await emu_parts.create(tool_user([]))
    record = await emu_parts.executor.execute(
        desk.workflow_id, desk.compiled, {"user_input": "hi"}, owner="alice"
    )
    assert record.result == {"content": "echo: hi"}
    assert "tools" not in openai_emu.requests[0].body
    assert "tools" not in record.outputs["answer"]


async def test_a_tool_workflow_that_is_not_there_fails_the_node_by_name(emu_parts: Parts) -> None:
    desk = await emu_parts.create(tool_user([{"workflow": "nowhere"}]))
    with pytest.raises(Exception, match="nowhere"):
        await emu_parts.executor.execute(desk.workflow_id, desk.compiled, {"user_input": "hi"}, owner="alice")


async def test_a_workflow_offering_a_caller_of_itself_as_a_tool_is_refused_when_saved(
    emu_parts: Parts,
) -> None:
    desk = await emu_parts.create(tool_user([]))
    caller = await emu_parts.create(
        doc("caller", [{"name": "user_input"}], [node("back", "workflow", workflow=desk.workflow_id)])
    )
    with pytest.raises(InvalidWorkflow) as caught:
        await emu_parts.catalog.update(
            desk.workflow_id, tool_user([{"workflow": caller.workflow_id, "name": "ask_back"}]), "alice"
        )
    assert caught.value.details == (
        "node 'answer.tools[0]' calls workflows in a loop: 'desk' -> 'caller' -> 'desk'; "
        "a workflow may not call itself, directly or through others"
    )


async def test_a_huge_tool_answer_is_cut_for_the_model_and_the_record(
    emu_parts: Parts, openai_emu: OpenAIEmulator
) -> None:
    lookup = await emu_parts.create(
        doc("echo_order", ORDER_PARAMS, [node("end", "end", content="order {{inputs.order}}")])
    )
    desk = await emu_parts.create(tool_user([{"workflow": lookup.workflow_id}]))
    huge = "x" * 40_000

    def reply(body: dict[str, Any]) -> str | EmulatedReply:
        answers = asking(body)
        if not answers:
            return EmulatedReply("", (EmulatedCall("echo_order", {"order": huge}),))
        return f"got {len(answers[0]['content'])} characters"

    openai_emu.reply = reply
    record = await emu_parts.executor.execute(
        desk.workflow_id, desk.compiled, {"user_input": "?"}, owner="alice"
    )
    told = asking(openai_emu.requests[1].body)[0]["content"]
    assert told.startswith("order xxx")
    assert told.endswith(f"… ({len('order ') + 40_000 - 16_000} more characters cut)")
    assert record.result == {"content": f"got {len(told)} characters"}
    (call,) = record.outputs["answer"]["tools"]
    assert len(call["arguments"]) < 2_100
    assert len(call["result"]) < 2_100
