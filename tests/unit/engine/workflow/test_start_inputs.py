"""The start node declares a workflow's inputs: it checks, coerces and fills them in before anything runs."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import InvalidRequest, InvalidWorkflow
from engine.workflow.graph import CompiledWorkflow, compile_workflow, parse_spec


def workflow(*params: dict[str, Any]) -> CompiledWorkflow:
    return compile_workflow(
        parse_spec(
            {
                "name": "inputs",
                "nodes": [
                    {"id": "start", "type": "start", "config": {"input_params": list(params)}},
                    {"id": "answer", "type": "response", "config": {"model": "echo"}},
                ],
                "connections": [{"from": "start", "to": "answer"}],
            }
        )
    )


def refused(wf: CompiledWorkflow, raw: dict[str, Any]) -> str:
    with pytest.raises(InvalidRequest) as caught:
        wf.coerce_inputs(raw)
    return caught.value.message


@pytest.mark.parametrize(
    ("type_", "given", "expected"),
    [
        ("string", "hello", "hello"),
        ("string", 42, "42"),
        ("string", 2.5, "2.5"),
        ("number", 7, 7),
        ("number", 1.5, 1.5),
        ("number", "3", 3),
        ("number", " 12 ", 12),
        ("number", "2.5", 2.5),
        ("number", "1e3", 1000.0),
        ("boolean", True, True),
        ("boolean", "false", False),
        ("boolean", "TRUE", True),
        ("object", {"a": [1, 2]}, {"a": [1, 2]}),
        ("object", [1, 2], [1, 2]),
    ],
)
def test_inputs_are_coerced_to_their_declared_type(type_: str, given: Any, expected: Any) -> None:
    wf = workflow({"name": "value", "type": type_})
    coerced = wf.coerce_inputs({"value": given})["value"]
    assert coerced == expected
    assert type(coerced) is type(expected)


@pytest.mark.parametrize(
    ("type_", "given"),
    [
        ("string", ["a"]),
        ("string", True),
        ("number", "many"),
        ("number", True),
        ("number", {"n": 1}),
        ("number", "1e999"),
        ("number", "nan"),
        ("boolean", "yes"),
        ("boolean", 1),
        ("object", "{}"),
        ("object", 3),
    ],
)
def test_an_input_that_cannot_be_coerced_is_refused_by_name(type_: str, given: Any) -> None:
    message = refused(workflow({"name": "value", "type": type_}), {"value": given})
    assert "'value'" in message
    assert type_ in message


def test_inputs_are_required_by_default() -> None:
    wf = workflow({"name": "question"})
    assert "missing required input 'question'" in refused(wf, {})
    assert "missing required input 'question'" in refused(wf, {"question": None})


def test_an_optional_input_may_be_left_out() -> None:
    wf = workflow({"name": "question"}, {"name": "tone", "required": False})
    assert wf.coerce_inputs({"question": "q"}) == {"question": "q"}


def test_defaults_fill_missing_inputs_even_falsy_ones() -> None:
    wf = workflow(
        {"name": "count", "type": "number", "default": 0},
        {"name": "polite", "type": "boolean", "default": False},
        {"name": "tone", "default": "warm"},
    )
    assert wf.coerce_inputs({}) == {"count": 0, "polite": False, "tone": "warm"}
    assert wf.coerce_inputs({"count": "4", "tone": "dry"}) == {"count": 4, "polite": False, "tone": "dry"}


def test_an_undeclared_input_is_refused_by_name() -> None:
    assert "'colour'" in refused(workflow({"name": "question"}), {"question": "q", "colour": "red"})


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ({"name": "x", "type": "integer"}, "type"),
        ({"name": "bad name"}, "name"),
        ({"type": "string"}, "missing required config"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "count", "type": "number", "default": "lots"}, "default"),
    ],
)
def test_a_bad_input_declaration_is_an_invalid_workflow(param: dict[str, Any], expected: str) -> None:
    with pytest.raises(InvalidWorkflow) as caught:
        workflow(param)
    assert "'start'" in caught.value.details
    assert expected in caught.value.details


def test_an_input_declared_twice_is_an_invalid_workflow() -> None:
    with pytest.raises(InvalidWorkflow) as caught:
        workflow({"name": "q"}, {"name": "q"})
    assert "q" in caught.value.details
    assert "more than once" in caught.value.details


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"deeper": value}
    return value


@pytest.mark.parametrize(
    ("type_", "given", "problem"),
    [
        ("number", "123456789012345678901234567890", "outside the signed 64-bit range"),
        ("number", 2**64 - 1, "outside the signed 64-bit range"),
        ("number", -(2**63) - 1, "outside the signed 64-bit range"),
        ("string", 2**64 - 1, None),  # as text it is just digits
        ("object", {"n": [2**64 - 1]}, "outside the signed 64-bit range"),
        ("object", nested(253), "nested deeper than 64 levels"),
        ("object", nested(65), "nested deeper than 64 levels"),
    ],
)
def test_an_input_storage_could_not_hold_is_refused_by_name_before_anything_runs(
    type_: str, given: Any, problem: str | None
) -> None:
    wf = workflow({"name": "value", "type": type_})
    if problem is None:
        assert wf.coerce_inputs({"value": given}) == {"value": str(given)}
        return
    with pytest.raises(InvalidRequest) as caught:
        wf.coerce_inputs({"value": given})
    assert caught.value.message.startswith("input 'value' cannot be stored: ")
    assert problem in caught.value.message
    assert caught.value.details[0]["loc"] == ["body", "inputs", "value"]


def test_the_largest_storable_values_are_accepted() -> None:
    wf = workflow({"name": "n", "type": "number"}, {"name": "o", "type": "object"})
    big = {"n": str(2**63 - 1), "o": nested(63)}
    assert wf.coerce_inputs(big) == {"n": 2**63 - 1, "o": nested(63)}
    assert wf.coerce_inputs({"n": -(2**63), "o": []})["n"] == -(2**63)


def test_a_default_storage_could_not_hold_is_an_invalid_workflow() -> None:
    with pytest.raises(InvalidWorkflow) as caught:
        workflow({"name": "n", "type": "number", "default": 2**64})
    assert "'start'" in caught.value.details
    assert "default" in caught.value.details
