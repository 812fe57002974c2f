"""Whatever inputs a caller sends, the start node hands the workflow exactly its declared
inputs, each of its declared type, or refuses the request naming the input."""

from __future__ import annotations

import math
from typing import Any

import orjson
from hypothesis import event, given
from hypothesis import strategies as st

from engine.errors import InvalidRequest, InvalidWorkflow
from engine.workflow.graph import CompiledWorkflow, compile_workflow, parse_spec
from tests.unit.strategies import INTS, MIXED_TEXT, TEXT, examples, json_values, nested

NAMES = st.sampled_from(["user_input", "n", "flag", "data", "q_1", "Zz"])
KINDS = st.sampled_from(["string", "number", "boolean", "object"])
# What a caller may send for one input: values of every JSON type, and the strings that
# look like numbers or booleans (or nearly do).
NUMERIC_TEXT = st.one_of(
    st.integers().map(str),
    st.floats().map(str),
    st.sampled_from(
        ["1e999", "-1e999", "nan", "inf", "1_000", " 7 ", "0x10", "1.", ".5", "1e", "", "٣", "True"]
    ),
    st.sampled_from(["true", "false", "TRUE", "False", "yes", "0", "1"]),
)
VALUE = st.one_of(json_values(), NUMERIC_TEXT, st.just(nested(100)), INTS, MIXED_TEXT)


@st.composite
def params(draw: st.DrawFn) -> list[dict[str, Any]]:
    declared: list[dict[str, Any]] = []
    for name in draw(st.lists(NAMES, unique=True, max_size=4)):
        param: dict[str, Any] = {"name": name, "type": draw(KINDS), "required": draw(st.booleans())}
        if draw(st.integers(0, 2)) == 0:
            param["default"] = draw(VALUE)  # a default that does not fit is refused at compile
        declared.append(param)
    return declared


def workflow(declared: list[dict[str, Any]]) -> CompiledWorkflow | None:
    try:
        return compile_workflow(
            parse_spec(
                {
                    "name": "inputs",
                    "nodes": [
                        {"id": "start", "type": "start", "config": {"input_params": declared}},
                        {"id": "answer", "type": "response", "config": {}},
                    ],
                    "connections": [{"from": "start", "to": "answer"}],
                }
            )
        )
    except (InvalidWorkflow, InvalidRequest):
        return None


def is_of(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, (dict, list))


@examples(400)
@given(
    declared=params(),
    raw=st.dictionaries(NAMES | TEXT, VALUE, max_size=5),
)
def test_inputs_are_coerced_to_their_declared_types_or_refused_by_name(
    declared: list[dict[str, Any]], raw: dict[str, Any]
) -> None:
    wf = workflow(declared)
    if wf is None:
        event("declaration refused")
        return
    by_name = {p.name: p for p in wf.start.config.input_params}
    try:
        inputs = wf.coerce_inputs(raw)
    except InvalidRequest as refused:
        event("inputs refused")
        assert refused.message.strip()
        assert refused.details
        for problem in refused.details:
            assert problem["loc"][:2] == ["body", "inputs"]
            assert problem["msg"].strip()
        # The named input is one the caller sent that is not declared, or a declared one.
        assert all(problem["loc"][2] in raw or problem["loc"][2] in by_name for problem in refused.details)
        return
    event("inputs coerced")
    # Only declared inputs, every required one, each of its type, and storable as sent.
    assert inputs.keys() <= by_name.keys()
    for name, param in by_name.items():
        if param.required and param.default is None:
            assert name in inputs
        if name in inputs:
            assert is_of(param.type, inputs[name]), (param, inputs[name])
        if (
            raw.get(name) is not None
            and param.type in ("string", "object")
            and isinstance(raw[name], (str, dict, list))
        ):
            assert inputs[name] == raw[name]  # a value of the right type arrives untouched
    orjson.dumps(inputs)  # the record stores them: this must not raise
    # What a node reads: every declared input, None where nobody sent it.
    assert wf.start.with_absent(inputs).keys() == by_name.keys()


@examples(100)
@given(declared=params())
def test_coercion_is_idempotent(declared: list[dict[str, Any]]) -> None:
    """Coerced inputs (defaults filled in) pass again unchanged: a retried run sees the same."""
    wf = workflow(declared)
    if wf is None:
        return
    names = [p.name for p in wf.start.config.input_params]
    raw = {
        n: p.default
        for n, p in zip(names, wf.start.config.input_params, strict=True)
        if p.default is not None
    }
    try:
        once = wf.coerce_inputs(raw)
    except InvalidRequest:
        return  # a required input without default: nothing to send twice
    assert wf.coerce_inputs(once) == once
