"""A question's options may come from the run (an order list an earlier node found), and a
typed answer that names no option exactly can be read by the model (``match: model``): the
model can only pick an option that was shown, and a model that fails picks none."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import ExecutionFailed
from engine.workflow.graph import CompiledWorkflow
from tests.emulators.openai_server import EmulatedCall, EmulatedReply, OpenAIEmulator
from tests.engine.executors import MakeExecutor
from tests.support.workflow_docs import compile_doc, link, start

ORDERS = [{"id": "A-17", "label": "Shoes (A-17)"}, {"id": "B-02", "label": "Umbrella (B-02)"}]


def orders_bot(orders: Any, **ask: Any) -> CompiledWorkflow:
    """start -> orders (a variable holding the user's orders) -> ask (options: that list)."""
    nodes = [
        start(),
        {"id": "orders", "type": "variable", "config": {"set": {"list": orders}}},
        {
            "id": "ask",
            "type": "question",
            "config": {"question": "Which order?", "options": "{{orders.list}}", **ask},
        },
        {"id": "picked", "type": "template", "config": {"template": "Order {{ask.option}} it is."}},
        {"id": "none", "type": "template", "config": {"template": "No order '{{ask.answer}}'."}},
    ]
    conns = [
        *link("start>orders", "orders>ask", "ask>picked"),
        {"from": "ask", "port": "other", "to": "none"},
    ]
    return compile_doc(nodes, conns)


def pick(option: str) -> EmulatedReply:
    return EmulatedReply("", (EmulatedCall("pick_option", {"option": option}),))


async def test_options_from_the_run_are_asked_and_the_chosen_one_goes_on(executor: MakeExecutor) -> None:
    ex = executor()
    wf = orders_bot(ORDERS)
    asked = await ex.execute("orders", wf, {"user_input": "hi"}, owner="o")
    assert asked.status == "waiting"
    assert asked.result is not None
    assert asked.result["question"] == {"text": "Which order?", "options": ORDERS}
    done = await ex.resume(asked.execution_id, wf, option="B-02")
    assert done.result is not None
    assert done.result["content"] == "Order B-02 it is."


@pytest.mark.parametrize(
    ("orders", "said"),
    [
        ("not a list", "not a list"),
        ([{"id": "A"}], "'id' and a 'label'"),
        ([{"id": "A", "label": "x"}, {"id": "a", "label": "y"}], "more than once"),
        ([str(i) for i in range(26)], "at most 25"),
    ],
)
async def test_options_the_run_cannot_show_fail_the_run_clearly(
    executor: MakeExecutor, orders: Any, said: str
) -> None:
    with pytest.raises(ExecutionFailed) as caught:
        await executor().execute("orders", orders_bot(orders), {"user_input": "hi"}, owner="o")
    assert said in caught.value.message


async def test_offline_a_typed_answer_naming_an_option_picks_it(executor: MakeExecutor) -> None:
    ex = executor()
    wf = orders_bot(["Shoes", "Umbrella"], match="model")
    asked = await ex.execute("orders", wf, {"user_input": "hi"}, owner="o")
    assert asked.result is not None
    assert asked.result["question"]["options"][0] == {"id": "Shoes", "label": "Shoes"}
    done = await ex.resume(asked.execution_id, wf, answer="the umbrella one please")
    assert done.result is not None
    assert done.result["content"] == "Order Umbrella it is."


async def test_the_model_maps_a_typed_answer_to_an_option_it_was_shown(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    ex = executor(openai_emu)
    wf = orders_bot(ORDERS, match="model", model="gpt-4o-mini")
    asked = await ex.execute("orders", wf, {"user_input": "hi"}, owner="o")
    openai_emu.reply = lambda body: pick("A-17")
    done = await ex.resume(asked.execution_id, wf, answer="the sneakers")
    assert done.result is not None
    assert done.result["content"] == "Order A-17 it is."
    [request] = openai_emu.requests
    [tool] = request.body["tools"]
    assert tool["function"]["parameters"]["properties"]["option"]["enum"] == ["A-17", "B-02", "none"]
    assert request.body["messages"][-1] == {"role": "user", "content": "the sneakers"}


async def test_an_exact_answer_costs_no_model_call(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    ex = executor(openai_emu)
    wf = orders_bot(ORDERS, match="model", model="gpt-4o-mini")
    asked = await ex.execute("orders", wf, {"user_input": "hi"}, owner="o")
    done = await ex.resume(asked.execution_id, wf, answer="b-02")
    assert done.result is not None
    assert done.result["content"] == "Order B-02 it is."
    assert openai_emu.requests == []


@pytest.mark.parametrize("reply", ["invented", "none", "failure"])
async def test_a_model_that_picks_no_shown_option_or_fails_leaves_it_unmatched(
    executor: MakeExecutor, openai_emu: OpenAIEmulator, reply: str
) -> None:
    ex = executor(openai_emu)
    wf = orders_bot(ORDERS, match="model", model="gpt-4o-mini", allow_free_text=True)
    asked = await ex.execute("orders", wf, {"user_input": "hi"}, owner="o")
    if reply == "failure":
        openai_emu.fail_next(500)
    else:
        openai_emu.reply = lambda body: pick(reply)
    done = await ex.resume(asked.execution_id, wf, answer="the red one")
    assert done.status == "completed"  # free text: it goes on by ``other``
    assert done.result is not None
    assert done.result["content"] == "No order 'the red one'."
