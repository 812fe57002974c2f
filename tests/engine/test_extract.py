"""A pizza bot turns an order sentence into typed parameters over the real openai client:
the model is asked for a strict JSON schema, what it answers is typed or refused, and a
``condition`` on ``ok`` asks for what is missing."""

from __future__ import annotations

from typing import Any

import pytest

from engine.workflow.graph import CompiledWorkflow, compile_workflow, parse_spec
from tests.emulators.openai_server import EmulatedCall, EmulatedReply, OpenAIEmulator
from tests.engine.executors import MakeExecutor
from tests.support.intent_workflows import pizza_desk
from tests.support.workflow_docs import compile_doc, start

MODEL = "gpt-4o-mini"
PARAMETERS = [
    {"name": "size", "type": "enum", "options": ["small", "large"], "description": "Pizza size"},
    {"name": "count", "type": "integer", "description": "How many pizzas"},
    {"name": "toppings", "type": "list", "required": False},
    {"name": "pickup", "type": "boolean", "required": False},
]


def pizza_bot(**config: Any) -> CompiledWorkflow:
    """start → order (extract) → complete? (condition on ok) → confirm | ask."""
    nodes = [
        start(),
        {"id": "order", "type": "extract", "config": {"model": MODEL, "parameters": PARAMETERS, **config}},
        {
            "id": "complete",
            "type": "condition",
            "config": {
                "branches": [
                    {"port": "yes", "conditions": [{"left": "{{order.ok}}", "op": "==", "right": True}]}
                ]
            },
        },
        {
            "id": "confirm",
            "type": "message",
            "config": {"content": "{{order.count}} {{order.size}} {{order.toppings}}"},
        },
        {"id": "ask", "type": "message", "config": {"content": "Please tell me: {{order.missing}}"}},
    ]
    links = [
        {"from": "start", "to": "order"},
        {"from": "order", "to": "complete"},
        {"from": "complete", "port": "yes", "to": "confirm"},
        {"from": "complete", "port": "else", "to": "ask"},
    ]
    return compile_doc(nodes, links)


async def test_a_full_order_comes_out_typed_and_is_confirmed(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    openai_emu.reply = lambda body: (
        '{"size": "Large", "count": 2, "toppings": ["ham", "olives"], "pickup": null}'
    )
    record = await executor(openai_emu).execute(
        "wf", pizza_bot(), {"user_input": "two large with ham and olives"}, owner="t"
    )
    assert record.outputs["order"] == {
        "size": "large",
        "count": 2,
        "toppings": ["ham", "olives"],
        "pickup": None,
        "missing": [],
        "ok": True,
    }
    assert record.result["messages"] == ['2 large ["ham","olives"]']
    [sent] = openai_emu.requests
    fmt = sent.body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["required"] == ["size", "count", "toppings", "pickup"]
    assert schema["properties"]["count"] == {"type": ["integer", "null"], "description": "How many pizzas"}
    assert "tools" not in sent.body
    assert sent.body["messages"][-1] == {"role": "user", "content": "two large with ham and olives"}


async def test_an_ill_typed_value_is_refused_and_counted_missing_so_the_bot_asks(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    openai_emu.reply = lambda body: (
        '{"size": "family", "count": "a couple", "toppings": "ham", "pickup": "yes"}'
    )
    record = await executor(openai_emu).execute(
        "wf", pizza_bot(), {"user_input": "a couple of family ones"}, owner="t"
    )
    assert record.outputs["order"] == {
        "size": None,
        "count": None,
        "toppings": ["ham"],
        "pickup": None,
        "missing": ["size", "count"],
        "ok": False,
    }
    assert record.nodes["complete"]["port"] == "else"
    assert record.result["messages"] == ['Please tell me: ["size","count"]']


async def test_what_the_sentence_does_not_say_is_missing(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    openai_emu.reply = lambda body: '{"size": "small", "count": null, "toppings": null, "pickup": true}'
    record = await executor(openai_emu).execute(
        "wf", pizza_bot(), {"user_input": "small, I'll pick it up"}, owner="t"
    )
    assert record.outputs["order"]["missing"] == ["count"]
    assert record.outputs["order"]["pickup"] is True
    assert record.result["messages"] == ['Please tell me: ["count"]']


async def test_a_server_that_answers_by_tool_call_or_in_prose_is_read(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    ex = executor(openai_emu)
    openai_emu.reply = lambda body: EmulatedReply(
        "", (EmulatedCall("parameters", {"size": "small", "count": "3"}),)
    )
    by_call = await ex.execute("wf", pizza_bot(), {"user_input": "3 small"}, owner="t")
    openai_emu.reply = lambda body: 'Here it is:\n```json\n{"size": "large", "count": 1}\n```'
    in_prose = await ex.execute("wf", pizza_bot(), {"user_input": "one large"}, owner="t")
    assert (by_call.outputs["order"]["count"], by_call.outputs["order"]["ok"]) == (3, True)
    assert (in_prose.outputs["order"]["size"], in_prose.outputs["order"]["ok"]) == ("large", True)


@pytest.mark.parametrize(
    "answer",
    [
        "I can't help with pizzas.",
        '{"size": "large", "count": 2',
        '["large", 2]',
        '{"size": NaN, "count": 1e999}',
    ],
    ids=["prose", "malformed JSON", "not an object", "not finite"],
)
async def test_an_unreadable_answer_leaves_everything_missing(
    executor: MakeExecutor, openai_emu: OpenAIEmulator, answer: str
) -> None:
    openai_emu.reply = lambda body: answer
    record = await executor(openai_emu).execute("wf", pizza_bot(), {"user_input": "two large"}, owner="t")
    assert record.outputs["order"]["missing"] == ["size", "count"]
    assert record.result["messages"] == ['Please tell me: ["size","count"]']


async def test_a_server_refusing_response_format_is_asked_once_more_plainly(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    openai_emu.fail_next(400, message="response_format json_schema is not supported")
    openai_emu.reply = lambda body: '{"size": "large", "count": 2}'
    record = await executor(openai_emu).execute("wf", pizza_bot(), {"user_input": "two large"}, owner="t")
    assert record.outputs["order"]["ok"] is True
    first, second = openai_emu.requests
    assert "response_format" in first.body
    assert "response_format" not in second.body
    assert "Answer with only a JSON object" in second.body["messages"][0]["content"]


async def test_the_input_template_is_what_is_read(executor: MakeExecutor, openai_emu: OpenAIEmulator) -> None:
    openai_emu.reply = lambda body: '{"size": "small", "count": 1}'
    wf = pizza_bot(input="Order: {{inputs.user_input}}", instructions="Only {{inputs.user_input}} counts.")
    await executor(openai_emu).execute("wf", wf, {"user_input": "one small"}, owner="t")
    messages = openai_emu.requests[-1].body["messages"]
    assert messages[-1]["content"] == "Order: one small"
    assert "Only one small counts." in messages[0]["content"]


async def test_offline_the_documented_rules_read_the_order(executor: MakeExecutor) -> None:
    ex = executor()
    wf = pizza_bot(model="echo")
    full = await ex.execute(
        "wf", wf, {"user_input": "2 LARGE please, toppings: ham, pickup: true"}, owner="t"
    )
    short = await ex.execute("wf", wf, {"user_input": "a small one"}, owner="t")
    assert full.outputs["order"] == {
        "size": "large",
        "count": 2,
        "toppings": ["ham"],
        "pickup": True,
        "missing": [],
        "ok": True,
    }
    assert short.result["messages"] == ['Please tell me: ["count"]']


async def test_the_documented_pizza_desk_answers_as_the_docs_say_offline(executor: MakeExecutor) -> None:
    ex = executor()
    wf = compile_workflow(parse_spec(pizza_desk()))
    said: dict[str, list[str]] = {}
    for text in ("I'd like 2 large pizzas", "I'd like a pizza", "when do you open?", "hello"):
        record = await ex.execute("pizza_desk", wf, {"user_input": text}, owner="t")
        said[text] = record.result["messages"]
    assert said == {
        "I'd like 2 large pizzas": ["2 large, coming up."],
        "I'd like a pizza": ['Please tell me: ["size","count"]'],
        "when do you open?": ["We are open 11:00-23:00."],
        "hello": ["A human will answer you shortly."],
    }
