"""The engine refuses a broken graph up front."""

from __future__ import annotations

import copy

import pytest

from engine.errors import InvalidRequest
from engine.workflow.graph import parse_spec
from tests.support.workflow_docs import (
    DIAMOND_LINKS,
    DIAMOND_NODES,
    compile_doc,
    link,
    refused,
    response,
    start,
)

# -- validation --------------------------------------------------------------


def test_a_diamond_compiles_in_dependency_order() -> None:
    wf = compile_doc(DIAMOND_NODES, DIAMOND_LINKS)
    assert wf.order[0] == "start"
    assert wf.order[-1] == "join"
    assert set(wf.order[1:3]) == {"left", "right"}
    assert wf.predecessors["join"] == ("left", "right")
    assert wf.terminals == ("join",)


def test_duplicate_node_ids_are_named() -> None:
    assert "'left'" in refused([start(), response("left"), response("left")], link("start>left"))


def test_a_connection_to_a_missing_node_is_named() -> None:
    details = refused([start(), response("a")], link("start>a", "a>ghost"))
    assert "ghost" in details


def test_a_cycle_is_named() -> None:
    details = refused([start(), response("a"), response("b")], link("start>a", "a>b", "b>a"))
    assert "cycle" in details
    assert "'a'" in details or "'b'" in details


def test_an_edge_into_the_start_node_is_refused() -> None:
    assert "start" in refused([start(), response("a")], link("start>a", "a>start"))


def test_no_start_node_is_refused() -> None:
    assert "no start node" in refused([response("a")], [])


def test_two_start_nodes_are_named() -> None:
    details = refused([start("s1"), start("s2"), response("a")], link("s1>a", "s2>a"))
    assert "s1" in details
    assert "s2" in details


def test_an_empty_workflow_is_refused() -> None:
    assert "no nodes" in refused([], [])


def test_an_unknown_node_type_is_named_with_the_known_ones() -> None:
    details = refused([start(), {"id": "magic", "type": "wizard", "config": {}}], link("start>magic"))
    assert "magic" in details
    assert "wizard" in details
    assert "response" in details


def test_missing_required_config_is_named() -> None:
    bad_start = {"id": "start", "type": "start", "config": {"input_params": [{"type": "string"}]}}
    details = refused([bad_start, response("a")], link("start>a"))
    assert "'start'" in details
    assert "missing required config" in details
    assert "name" in details


def test_a_bad_config_value_or_unknown_config_key_is_named() -> None:
    assert "temperature" in refused([start(), response("a", temperature=9)], link("start>a"))
    assert "tempreature" in refused([start(), response("a", tempreature=1)], link("start>a"))
    assert "timeout_s" in refused([start(), response("a", timeout_s=0)], link("start>a"))


def test_an_unreachable_node_is_named() -> None:
    details = refused([start(), response("a"), response("island")], link("start>a"))
    assert "island" in details
    assert "unreachable" in details


def test_a_duplicate_connection_is_refused() -> None:
    assert "more than once" in refused([start(), response("a")], link("start>a", "start>a"))


def test_the_reserved_id_inputs_is_refused() -> None:
    assert "reserved" in refused([start(), response("inputs")], link("start>inputs"))


@pytest.mark.parametrize(
    ("node", "prompt", "expected"),
    [
        ("left", "{{ghost.text}}", "there is no node 'ghost'"),
        ("left", "{{inputs.colour}}", "declares no input 'colour'"),
        ("left", "{{start.colour}}", "'start' outputs user_input"),
        ("left", "{{right.text}}", "'right' does not run before it"),  # a sibling branch
        ("join", "{{left.words}}", "'left' outputs text"),
    ],
)
def test_a_template_that_cannot_resolve_is_an_invalid_workflow(node: str, prompt: str, expected: str) -> None:
    nodes = copy.deepcopy(DIAMOND_NODES)
    next(n for n in nodes if n["id"] == node)["config"]["prompt"] = prompt
    details = refused(nodes, DIAMOND_LINKS)
    assert f"node '{node}' references {prompt}" in details
    assert expected in details


def test_templates_in_system_prompts_are_checked_too() -> None:
    details = refused([start(), response("a", system_prompt="You are {{persona.name}}")], link("start>a"))
    assert "persona" in details
    assert "'a'" in details


def test_the_body_must_be_a_workflow_object() -> None:
    with pytest.raises(InvalidRequest):
        parse_spec(["not", "a", "dict"])
    with pytest.raises(InvalidRequest) as caught:
        parse_spec({"name": "x", "nodes": [{"id": "a"}]})
    assert "nodes.0.type" in caught.value.message
