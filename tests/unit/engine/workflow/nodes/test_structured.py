"""Reading a model's structured answer: a tool call's arguments first, else the first JSON
object in its text, however it is wrapped; and a hostile answer costs a bounded effort."""

from __future__ import annotations

import time

import pytest

from engine.errors import ExecutionFailed
from engine.workflow.nodes.model import Reply, ToolCall, ToolSpec
from engine.workflow.nodes.structured import (
    MAX_ANSWER_CHARS,
    answer_object,
    forced,
    json_object,
    json_schema,
    refused_request,
)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '  {"a": 1}\n',
        '```json\n{"a": 1}\n```',
        'Here you go: {"a": 1} -- hope that helps {"a": 2}',
        'not {this} but {"a": 1}',
    ],
)
def test_the_first_object_is_found_however_it_is_wrapped(text: str) -> None:
    assert json_object(text) == {"a": 1}


@pytest.mark.parametrize("text", ["", "no json here", "[1, 2]", '"a"', '{"a": 1', "{" * 10_000])
def test_no_object_is_none(text: str) -> None:
    assert json_object(text) is None


def test_a_nesting_bomb_is_none_not_a_crash() -> None:
    assert json_object('{"a": ' + "[" * 100_000) is None


def test_an_object_past_the_read_limit_is_not_looked_for() -> None:
    assert json_object(" " * MAX_ANSWER_CHARS + '{"a": 1}') is None


def test_prose_full_of_braces_is_given_up_on_quickly() -> None:
    hostile = '{"x": ' * 2_000 + "!" * 50_000
    began = time.perf_counter()
    assert json_object(hostile) is None
    assert time.perf_counter() - began < 0.5


def test_the_named_tools_arguments_come_before_the_text() -> None:
    reply = Reply('{"from": "text"}', (ToolCall("c1", "other_tool", '{"from": "other"}'),))
    assert answer_object(reply, "classify") == {"from": "text"}
    assert answer_object(reply) == {"from": "other"}
    both = Reply('{"from": "text"}', (ToolCall("c1", "classify", '{"from": "call"}'),))
    assert answer_object(both, "classify") == {"from": "call"}
    broken = Reply('{"from": "text"}', (ToolCall("c1", "classify", "{not json"),))
    assert answer_object(broken, "classify") == {"from": "text"}


def test_what_is_asked_for_is_a_forced_tool_or_a_strict_schema() -> None:
    tool = ToolSpec("classify", "d", {"type": "object"})
    assert forced(tool).tool_choice == {"type": "function", "function": {"name": "classify"}}
    assert forced(tool).tools == (tool,)
    schema = json_schema("parameters", {"type": "object"})
    assert schema.response_format == {
        "type": "json_schema",
        "json_schema": {"name": "parameters", "strict": True, "schema": {"type": "object"}},
    }


def test_only_a_refused_request_is_asked_again_plainly() -> None:
    assert refused_request(ExecutionFailed("x", {"status": 400}))
    assert refused_request(ExecutionFailed("x", {"status": 422}))
    assert not refused_request(ExecutionFailed("x", {"status": 500}))
    assert not refused_request(ExecutionFailed("x", {"status": 401}))
    assert not refused_request(ExecutionFailed("x", None))
