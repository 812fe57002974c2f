"""Workflow documents built in a line: a start node, response nodes, links "a>b", compiled."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import InvalidWorkflow
from engine.workflow.graph import CompiledWorkflow, compile_workflow, parse_spec


def start(node_id: str = "start", *params: str) -> dict[str, Any]:
    names = params or ("user_input",)
    return {"id": node_id, "type": "start", "config": {"input_params": [{"name": n} for n in names]}}


def response(node_id: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "response", "config": config}


def link(*pairs: str) -> list[dict[str, str]]:
    return [{"from": a, "to": b} for a, b in (p.split(">") for p in pairs)]


def compile_doc(nodes: list[dict[str, Any]], connections: list[dict[str, str]]) -> CompiledWorkflow:
    return compile_workflow(parse_spec({"name": "t", "nodes": nodes, "connections": connections}))


def refused(nodes: list[dict[str, Any]], connections: list[dict[str, str]]) -> str:
    with pytest.raises(InvalidWorkflow) as caught:
        compile_doc(nodes, connections)
    assert caught.value.code == "invalid_workflow"
    details = caught.value.details
    assert isinstance(details, str)
    return details


DIAMOND_NODES = [
    start(),
    response("left", model="gpt-left", prompt="left: {{inputs.user_input}}"),
    response("right", model="gpt-right", prompt="right: {{start.user_input}}"),
    response("join", model="echo", prompt="{{left.text}} | {{right.text}}"),
]
DIAMOND_LINKS = link("start>left", "start>right", "left>join", "right>join")
