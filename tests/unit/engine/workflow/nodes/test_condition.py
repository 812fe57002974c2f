"""The condition node: its config is checked when the workflow is, and the first branch that holds wins."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import ExecutionFailed
from engine.workflow.nodes import operators
from engine.workflow.nodes.condition import ConditionConfig, ConditionNode
from tests.support.workflow_docs import link, refused, start


def condition(*branches: dict[str, Any]) -> ConditionNode:
    return ConditionNode("route", ConditionConfig.model_validate({"branches": list(branches)}))


def when(port: str, *conditions: dict[str, Any], logic: str = "and") -> dict[str, Any]:
    return {"port": port, "logic": logic, "conditions": list(conditions)}


def test_the_first_branch_that_holds_wins() -> None:
    node = condition(
        when("refund", {"left": "{{inputs.text}}", "op": "contains", "right": "refund"}),
        when("money", {"left": "{{inputs.text}}", "op": "contains", "right": "money"}),
    )
    assert node.choose({"inputs": {"text": "refund my money"}}) == "refund"
    assert node.choose({"inputs": {"text": "my money"}}) == "money"
    assert node.choose({"inputs": {"text": "hello"}}) == "else"
    assert node.ports() == frozenset({"refund", "money", "else"})
    assert node.outputs() == frozenset({"port"})


def test_and_needs_every_condition_or_needs_one() -> None:
    conds = (
        {"left": "{{inputs.n}}", "op": ">", "right": 1},
        {"left": "{{inputs.n}}", "op": "<", "right": 5},
    )
    both, either = condition(when("yes", *conds)), condition(when("yes", *conds, logic="or"))
    assert both.choose({"inputs": {"n": 3}}) == "yes"
    assert both.choose({"inputs": {"n": 7}}) == "else"
    assert either.choose({"inputs": {"n": 7}}) == "yes"


def test_a_whole_reference_keeps_its_type() -> None:
    node = condition(when("many", {"left": "{{inputs.items}}", "op": "contains", "right": "b"}))
    assert node.choose({"inputs": {"items": ["a", "b"]}}) == "many"
    assert node.choose({"inputs": {"items": ["ab"]}}) == "else"  # a list's items, not its text


def test_a_skipped_or_missing_reference_is_empty() -> None:
    node = condition(when("none", {"left": "{{gone.text}}", "op": "is_empty"}))
    assert node.choose({"inputs": {}}) == "none"
    assert node.choose({"gone": {"text": "here"}}) == "else"


def test_both_sides_may_be_references() -> None:
    node = condition(when("same", {"left": "{{inputs.a}}", "op": "==", "right": "{{inputs.b}}"}))
    assert node.choose({"inputs": {"a": "7", "b": 7}}) == "same"
    assert node.choose({"inputs": {"a": "7", "b": 8}}) == "else"


def test_in_with_a_literal_list_and_with_a_referenced_one() -> None:
    literal = condition(when("yes", {"left": "{{inputs.a}}", "op": "in", "right": ["Yes", "y", 1]}))
    assert literal.choose({"inputs": {"a": "1"}}) == "yes"
    assert literal.choose({"inputs": {"a": "yes"}}) == "else"
    folded = condition(
        when("yes", {"left": "{{inputs.a}}", "op": "in", "right": ["Yes"], "ignore_case": True})
    )
    assert folded.choose({"inputs": {"a": "YES"}}) == "yes"
    referenced = condition(when("no", {"left": "{{inputs.a}}", "op": "not_in", "right": "{{inputs.bad}}"}))
    assert referenced.choose({"inputs": {"a": "x", "bad": ["y"]}}) == "no"
    assert referenced.choose({"inputs": {"a": "y", "bad": ["y"]}}) == "else"
    assert referenced.choose({"inputs": {"a": "y", "bad": None}}) == "no"  # nothing is in nothing


async def test_in_a_referenced_value_that_is_no_list_fails_the_run() -> None:
    node = condition(when("x", {"left": "a", "op": "in", "right": "{{inputs.bad}}"}))
    with pytest.raises(ExecutionFailed, match="right side of 'in' is a str, not a list"):
        node.choose({"inputs": {"bad": "abc"}})


def test_a_referenced_pattern_is_compiled_at_run_time() -> None:
    node = condition(when("m", {"left": "{{inputs.text}}", "op": "matches", "right": "{{inputs.p}}"}))
    assert node.choose({"inputs": {"text": "abc123", "p": r"\d+$"}}) == "m"
    assert node.choose({"inputs": {"text": "abc", "p": r"\d+$"}}) == "else"
    with pytest.raises(ExecutionFailed, match="not a valid regular expression"):
        node.choose({"inputs": {"text": "abc", "p": "(oops"}})


def test_matches_with_a_catastrophic_pattern_answers_at_once() -> None:
    node = condition(when("m", {"left": "{{inputs.text}}", "op": "matches", "right": "(a+)+$"}))
    began = time.perf_counter()
    assert node.choose({"inputs": {"text": "a" * 50_000 + "!"}}) == "else"
    assert time.perf_counter() - began < 0.5


@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=6, unique=True), st.text("abcd"))
def test_the_port_taken_is_the_first_whose_word_is_in_the_text(words: list[str], text: str) -> None:
    node = condition(*(when(w, {"left": "{{inputs.t}}", "op": "contains", "right": w}) for w in words))
    expected = next((w for w in words if w in text), "else")
    assert node.choose({"inputs": {"t": text}}) == expected


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["1", "1.0", "a", "A", " 2 ", ""])
)


@given(scalars, st.lists(scalars, max_size=5), st.booleans())
def test_a_literal_list_looked_up_at_once_agrees_with_the_operator(
    left: Any, right: list[Any], fold: bool
) -> None:
    """``in`` with a literal list is prepared as a set of keys; it answers as ``is_in`` does."""
    node = condition(when("yes", {"left": "{{inputs.v}}", "op": "in", "right": right, "ignore_case": fold}))
    expected = "yes" if operators.is_in(left, right, fold) else "else"
    assert node.choose({"inputs": {"v": left}}) == expected


@given(scalars, scalars)
def test_a_literal_right_side_prepared_agrees_with_the_operator(left: Any, right: Any) -> None:
    for op in ("==", "!="):
        node = condition(when("yes", {"left": "{{inputs.v}}", "op": op, "right": right}))
        expected = "yes" if operators.BINARY[op](left, right, False) else "else"
        assert node.choose({"inputs": {"v": left}}) == expected


# -- refused when the workflow is checked ---------------------------------------


def refused_condition(*branches: dict[str, Any]) -> str:
    route = {"id": "route", "type": "condition", "config": {"branches": list(branches)}}
    return refused([start(), route], link("start>route"))


@pytest.mark.parametrize(
    ("branches", "says"),
    [
        ([when("a", {"left": 1, "op": "==", "right": 1}), when("a", {"left": 1, "op": "!=", "right": 1})],
         "port 'a' is used by more than one branch"),
        ([when("else", {"left": 1, "op": "==", "right": 1})], "port 'else' is reserved"),
        ([when("error", {"left": 1, "op": "==", "right": 1})], "port 'error' is reserved"),
        ([when("default", {"left": 1, "op": "==", "right": 1})], "port 'default' is reserved"),
        ([when("a", {"left": 1, "op": "equals", "right": 1})], "branches.0.conditions.0.op"),
        ([when("a", {"left": 1, "op": "in", "right": "abc"})], "right side of 'in' must be a list"),
        ([when("a", {"left": 1, "op": "not_in", "right": "x {{inputs.user_input}}"})],
         "right side of 'not_in' must be a list"),
        ([when("a", {"left": 1, "op": "matches", "right": "(bad"})], "not a valid regular expression"),
        ([when("a", {"left": 1, "op": "matches", "right": 5})], "must be a pattern"),
        ([when("a", {"left": 1, "op": "=="})], "'==' needs a right side"),
        ([when("a", {"left": 1, "op": "is_empty", "right": "x"})], "'is_empty' takes no right side"),
        ([when("a")], "branches.0.conditions"),
        ([], "branches"),
        ([when("a", {"left": "{{nowhere.text}}", "op": "is_empty"})], "there is no node 'nowhere'"),
    ],
)  # fmt: skip
def test_bad_config_is_refused_naming_the_node_and_key(branches: list[dict[str, Any]], says: str) -> None:
    details = refused_condition(*branches)
    assert "'route'" in details
    assert says in details


def test_an_unknown_operator_lists_the_known_ones() -> None:
    details = refused_condition(when("a", {"left": 1, "op": "~=", "right": 1}))
    assert "'starts_with'" in details
    assert "'matches'" in details
