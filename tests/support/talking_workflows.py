"""Workflows that talk as they go (``message`` nodes) for the chat stories: documents as
workflow files hold them."""

from __future__ import annotations

import itertools
from typing import Any

_START = {
    "id": "start",
    "type": "start",
    "config": {"input_params": [{"name": "user_input", "type": "string"}]},
}


def _chain(name: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """start → nodes[0] → nodes[1] → …"""
    ids = ["start", *(n["id"] for n in nodes)]
    return {
        "name": name,
        "description": f"{name} for tests",
        "nodes": [_START, *nodes],
        "connections": [{"from": a, "to": b} for a, b in itertools.pairwise(ids)],
    }


def message(node_id: str, content: str) -> dict[str, Any]:
    return {"id": node_id, "type": "message", "config": {"content": content}}


def talkative(model: str = "echo") -> dict[str, Any]:
    """Greets by name and platform, says it is still at it, then answers with ``model``."""
    return _chain(
        "talk",
        [
            message(
                "hello", "Hi {{sys.user_name}}, on {{sys.platform}}: looking into {{inputs.user_input}}…"
            ),
            message("still", "Still here."),
            {
                "id": "answer",
                "type": "response",
                "config": {"model": model, "prompt": "{{inputs.user_input}}"},
            },
        ],
    )


def only_talk() -> dict[str, Any]:
    """Says one message and nothing else: the answer's content is empty."""
    return _chain("talk", [message("bye", "Bye, {{sys.user_name}} ({{sys.platform}})")])


def draft_then_message(model: str) -> dict[str, Any]:
    """A model drafts (its tokens stream), a message says the draft, another model answers."""
    return _chain(
        "talk",
        [
            {
                "id": "draft",
                "type": "response",
                "config": {"model": model, "prompt": "draft {{inputs.user_input}}"},
            },
            message("noted", "noted: {{draft.text}}"),
            {
                "id": "answer",
                "type": "response",
                "config": {"model": model, "prompt": "final {{inputs.user_input}}"},
            },
        ],
    )
