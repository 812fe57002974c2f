"""A workflow says things as it goes (``message``) and decides its own result (``end``)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import ExecutionFailed
from engine.run.runner import MAX_MESSAGES
from engine.workflow.events import Event, MessageSent, NodeFinished
from engine.workflow.nodes.message import MAX_MESSAGE_CHARS
from tests.engine.executors import MakeExecutor
from tests.support.workflow_docs import compile_doc, link, refused, response, start


def message(node_id: str, content: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "message", "config": {"content": content, **config}}


def end(node_id: str = "end", **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "end", "config": config}


async def test_messages_are_delivered_in_order_and_left_out_of_the_content(executor: MakeExecutor) -> None:
    wf = compile_doc(
        [
            start(),
            message("hello", "Hi! You said: {{inputs.user_input}}"),
            message("wait", "One moment…"),
            response("answer", model="echo"),
        ],
        link("start>hello", "hello>wait", "wait>answer"),
    )
    events: list[Event] = []
    record = await executor().execute("wf", wf, {"user_input": "tea"}, owner="t", sink=events.append)
    sent = [e for e in events if isinstance(e, MessageSent)]
    assert [(e.node_id, e.text) for e in sent] == [("hello", "Hi! You said: tea"), ("wait", "One moment…")]
    # Each message went out as soon as its node ran: before the next node finished.
    finished = [e.node_id for e in events if isinstance(e, NodeFinished)]
    assert events.index(sent[1]) < events.index(
        next(e for e in events if isinstance(e, NodeFinished) and e.node_id == "answer")
    )
    assert finished == ["start", "hello", "wait", "answer"]
    assert record.outputs["hello"] == {"text": "Hi! You said: tea"}
    assert record.result == {
        "content": "(echo) One moment…",
        "messages": ["Hi! You said: tea", "One moment…"],
    }


async def test_a_message_that_ends_the_workflow_is_not_said_twice(executor: MakeExecutor) -> None:
    wf = compile_doc([start(), message("bye", "Bye, {{inputs.user_input}}")], link("start>bye"))
    record = await executor().execute("wf", wf, {"user_input": "Ann"}, owner="t")
    assert record.result == {"content": "", "messages": ["Bye, Ann"]}


async def test_a_user_typing_a_reference_gets_those_characters_back(executor: MakeExecutor) -> None:
    wf = compile_doc([start(), message("m", "you said {{inputs.user_input}}")], link("start>m"))
    record = await executor().execute("wf", wf, {"user_input": "{{sys.execution_id}}"}, owner="t")
    assert record.result is not None
    assert record.result["messages"] == ["you said {{sys.execution_id}}"]


async def test_end_decides_the_result_and_its_outputs_keep_their_types(executor: MakeExecutor) -> None:
    wf = compile_doc(
        [
            {
                "id": "start",
                "type": "start",
                "config": {
                    "input_params": [
                        {"name": "user_input"},
                        {"name": "tags", "type": "object", "required": False},
                        {"name": "n", "type": "number", "default": 2},
                    ]
                },
            },
            response("answer", model="echo"),
            end(
                content="Answer: {{answer.text}}",
                outputs={
                    "tags": "{{inputs.tags}}",
                    "count": "{{inputs.n}}",
                    "summary": "{{inputs.n}} tags",
                    "nested": {"first": "{{inputs.tags.0}}", "missing": "{{inputs.tags.9}}"},
                    "literal": 7,
                },
            ),
        ],
        link("start>answer", "answer>end"),
    )
    record = await executor().execute("wf", wf, {"user_input": "hi", "tags": ["a", "b"]}, owner="t")
    assert record.result == {
        "content": "Answer: (echo) hi",
        "tags": ["a", "b"],
        "count": 2,
        "summary": "2 tags",
        "nested": {"first": "a", "missing": None},
        "literal": 7,
    }
    assert record.outputs["end"] == record.result


async def test_end_and_messages_together(executor: MakeExecutor) -> None:
    wf = compile_doc(
        [start(), message("m", "working on it"), end(content="done: {{inputs.user_input}}")],
        link("start>m", "m>end"),
    )
    record = await executor().execute("wf", wf, {"user_input": "x"}, owner="t")
    assert record.result == {"content": "done: x", "messages": ["working on it"]}


def test_end_outputs_may_not_take_the_results_own_names() -> None:
    for name in ("content", "messages"):
        details = refused([start(), end(outputs={name: "x"})], link("start>end"))
        assert details == (
            f"node 'end' config 'outputs': Value error, outputs may not be named {name!r}: "
            "the result uses that name itself"
        )


def test_end_output_names_are_names_a_reference_can_spell() -> None:
    details = refused([start(), end(outputs={"a b": "x"})], link("start>end"))
    assert details.startswith("node 'end' config 'outputs'"), details
    assert "'a b' is not a name" in details


def test_nothing_may_follow_an_end_node() -> None:
    details = refused([start(), end(), message("after", "too late")], link("start>end", "end>after"))
    assert details == "connection end -> after: node 'end' has no outputs to connect"


def test_a_message_needs_content_and_references_that_exist() -> None:
    assert "content" in refused([start(), {"id": "m", "type": "message", "config": {}}], link("start>m"))
    details = refused([start(), message("m", "{{ghost.text}}")], link("start>m"))
    assert "ghost" in details, details


def test_nothing_can_reference_an_end_node_since_nothing_runs_after_it() -> None:
    # An end node is final: nothing can follow it, so nothing can reference it either.
    details = refused(
        [start(), end(outputs={"a": 1}), message("m", "{{end.a}}")], link("start>end", "start>m")
    )
    assert "end" in details, details


async def test_a_message_that_repeats_a_long_input_is_refused_not_sent(executor: MakeExecutor) -> None:
    """A template saying a 4,000-character input six times would flood the chat with messages."""
    wf = compile_doc(
        [start(), message("loud", "{{inputs.user_input}}" * 6), message("after", "never said")],
        link("start>loud", "loud>after"),
    )
    events: list[Event] = []
    with pytest.raises(ExecutionFailed) as caught:
        await executor().execute("wf", wf, {"user_input": "x" * 4000}, owner="t", sink=events.append)
    assert caught.value.message == (
        f"message node 'loud' made 24000 characters; at most {MAX_MESSAGE_CHARS} go out as one message"
    )
    assert not [e for e in events if isinstance(e, MessageSent)]  # nothing went out, not even a part
    ok = await executor().execute("wf", wf, {"user_input": "x" * 3000}, owner="t")
    assert ok.result is not None
    assert ok.result["messages"] == ["x" * 18000, "never said"]  # just under the bound: said whole


async def test_an_execution_that_would_flood_the_chat_with_messages_is_stopped(
    executor: MakeExecutor,
) -> None:
    # Sixty message nodes side by side: each is fine alone, together they are a flood.
    nodes = [start(), *(message(f"m{i}", f"spam {i}") for i in range(MAX_MESSAGES + 10))]
    wf = compile_doc(nodes, link(*(f"start>m{i}" for i in range(MAX_MESSAGES + 10))))
    events: list[Event] = []
    with pytest.raises(ExecutionFailed) as failed:
        await executor().execute("wf", wf, {"user_input": "x"}, owner="t", sink=events.append)
    assert f"more than {MAX_MESSAGES} messages" in failed.value.message
    assert sum(isinstance(e, MessageSent) for e in events) == MAX_MESSAGES
