"""A support workflow that routes by intent (``intent``) and reads an order number
(``extract``), as a workflow file holds it: for the REST and the chat stories."""

from __future__ import annotations

import copy
import json
from typing import Any

INTENTS = [
    {"name": "refund", "description": "Wants money back", "examples": ["money back"]},
    {"name": "order_status", "description": "Asks about an order", "examples": ["where is my order"]},
]


def support_workflow(model: str = "echo") -> dict[str, Any]:
    """start → route: refund → say_refund → done; order_status → get_order → say_order → done;
    other → say_other → done. ``done`` (the end) names the intent and the order."""
    return {
        "name": "support_routing",
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}},
            {"id": "route", "type": "intent", "config": {"model": model, "intents": copy.deepcopy(INTENTS)}},
            {"id": "say_refund", "type": "message", "config": {"content": "Refunds take 5 days."}},
            {
                "id": "get_order",
                "type": "extract",
                "config": {
                    "model": model,
                    "parameters": [{"name": "order_id", "description": "The order number, like A-1234"}],
                },
            },
            {
                "id": "say_order",
                "type": "message",
                "config": {"content": "Looking up {{get_order.order_id}}."},
            },
            {"id": "say_other", "type": "message", "config": {"content": "A human will answer."}},
            {
                "id": "done",
                "type": "end",
                "config": {
                    "content": "{{route.intent}}",
                    "outputs": {"order": "{{get_order.order_id}}", "reason": "{{route.reason}}"},
                },
            },
        ],
        "connections": [
            {"from": "start", "to": "route"},
            {"from": "route", "port": "refund", "to": "say_refund"},
            {"from": "route", "port": "order_status", "to": "get_order"},
            {"from": "route", "port": "other", "to": "say_other"},
            {"from": "get_order", "to": "say_order"},
            {"from": "say_refund", "to": "done"},
            {"from": "say_order", "to": "done"},
            {"from": "say_other", "to": "done"},
        ],
    }


#: The documented example (the README's pizza desk), as written there.
PIZZA_DESK_JSON = """
{"name": "pizza_desk",
 "nodes": [
   {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}},
   {"id": "route", "type": "intent", "config": {"intents": [
     {"name": "order", "description": "Wants to order a pizza", "examples": ["I'd like", "pizza"]},
     {"name": "hours", "description": "Asks when the shop is open", "examples": ["open", "close"]}]}},
   {"id": "hours", "type": "message", "config": {"content": "We are open 11:00-23:00."}},
   {"id": "human", "type": "message", "config": {"content": "A human will answer you shortly."}},
   {"id": "order", "type": "extract", "config": {"parameters": [
     {"name": "size", "type": "enum", "options": ["small", "medium", "large"]},
     {"name": "count", "type": "integer", "description": "How many pizzas"},
     {"name": "toppings", "type": "list", "required": false}]}},
   {"id": "complete", "type": "condition", "config": {"branches": [
     {"port": "yes", "conditions": [{"left": "{{order.ok}}", "op": "==", "right": true}]}]}},
   {"id": "confirm", "type": "message", "config": {"content": "{{order.count}} {{order.size}}, coming up."}},
   {"id": "ask", "type": "message", "config": {"content": "Please tell me: {{order.missing}}"}}],
 "connections": [
   {"from": "start", "to": "route"},
   {"from": "route", "port": "order", "to": "order"},
   {"from": "route", "port": "hours", "to": "hours"},
   {"from": "route", "port": "other", "to": "human"},
   {"from": "order", "to": "complete"},
   {"from": "complete", "port": "yes", "to": "confirm"},
   {"from": "complete", "port": "else", "to": "ask"}]}
"""


def pizza_desk() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(PIZZA_DESK_JSON)
    return doc
