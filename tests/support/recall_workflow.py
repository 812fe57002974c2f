"""A workflow that remembers who spoke last in a session variable and says who it was before.

start -> recall (what the session held, before this message) -> remember (``scope:
session``: the name is now this message) -> reply. Its answer, for a message "Bo" after
"Ada" in the same session: "Hello Bo, last time you were Ada."; in a session that holds
nothing yet: "... you were nobody.", and ``recall.before_raw`` is null.
"""

from __future__ import annotations

from typing import Any


def recall_workflow(name: str = "recall") -> dict[str, Any]:
    return {
        "name": name,
        "description": "remembers the last name it was told, per session",
        "nodes": [
            {
                "id": "start_node",
                "type": "start",
                "config": {"input_params": [{"name": "user_input", "type": "string"}]},
            },
            {
                "id": "recall",
                "type": "variable",
                "config": {
                    "set": {
                        "before_raw": "{{session.name}}",
                        "before": {"first_of": ["{{session.name}}", "nobody"]},
                    }
                },
            },
            {
                "id": "remember",
                "type": "variable",
                "config": {"scope": "session", "set": {"name": "{{inputs.user_input}}"}},
            },
            {
                "id": "reply",
                "type": "variable",
                "config": {"set": {"text": "Hello {{session.name}}, last time you were {{recall.before}}."}},
            },
        ],
        "connections": [
            {"from": "start_node", "to": "recall"},
            {"from": "recall", "to": "remember"},
            {"from": "remember", "to": "reply"},
        ],
    }


def greeting(name: str, before: str = "nobody") -> str:
    """The answer of `recall_workflow` to ``name`` when the session last held ``before``."""
    return f"Hello {name}, last time you were {before}."
