"""``{{secrets.name}}`` may go only where a node sends it to an HTTP service; anywhere a
template, message, model prompt or result would show it, the workflow is refused."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import InvalidWorkflow
from engine.workflow.graph import compile_workflow, parse_spec
from tests.support.workflow_docs import link, refused, response, start

SHOWN = "secrets may appear only in an http node's headers, query and body"


def node(node_id: str, node_type: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "config": config}


@pytest.mark.parametrize(
    "sink",
    [
        node("a", "message", content="your token: {{secrets.orders_token}}"),
        node("a", "template", template="{{ secrets.orders_token }}"),
        node("a", "template", template="{{ secrets['orders_token'] }}"),
        response("a", system_prompt="Use {{secrets.orders_token}}"),
        response("a", prompt="{{secrets.orders_token}}"),
        node("a", "end", content="{{secrets.orders_token}}"),
        node("a", "variable", set={"leak": "{{secrets.orders_token}}"}),
        response("a", default={"text": "{{secrets.orders_token}}"}, on_error="continue"),
    ],
    ids=["message", "template", "template-item", "system-prompt", "prompt", "end", "variable", "default"],
)
def test_a_secret_rendered_into_text_is_refused_at_validation(sink: dict[str, Any]) -> None:
    details = refused([start(), sink], link("start>a"))
    assert "node 'a'" in details
    assert "{{secrets.orders_token}}" in details
    assert SHOWN in details


def test_an_unknown_secret_is_an_invalid_workflow_naming_it() -> None:
    spec = parse_spec(
        {
            "name": "t",
            "nodes": [start(), node("a", "message", content="{{secrets.nope}}")],
            "connections": link("start>a"),
        }
    )
    with pytest.raises(InvalidWorkflow) as caught:
        compile_workflow(spec, None, {"orders_token"})
    assert SHOWN in str(caught.value.details)  # where it stands is wrong before what it names


def test_a_plain_workflow_uses_no_secrets() -> None:
    spec = parse_spec({"name": "t", "nodes": [start(), response("a")], "connections": link("start>a")})
    assert compile_workflow(spec, None, set()).secrets == frozenset()
