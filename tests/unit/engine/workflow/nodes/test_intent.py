"""The intent node: its config is checked when the workflow is, the offline rule is the
documented one, and whatever a model answers, the node only ever takes a declared port."""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

import pytest

from engine.workflow.nodes.intent import MAX_INTENTS, MAX_REASON_CHARS, OTHER, IntentConfig, IntentNode
from engine.workflow.nodes.model import Reply, ToolCall
from tests.support.workflow_docs import compile_doc, link, refused, start

SUPPORT = [
    {"name": "refund", "description": "The user wants money back.", "examples": ["money back", "chargeback"]},
    {"name": "order_status", "examples": ["where is my order", "Tracking number"]},
    {"name": "greeting", "examples": ["hello"]},
]


def intent(intents: list[dict[str, Any]] | None = None, **config: Any) -> IntentNode:
    return IntentNode("route", IntentConfig.model_validate({"intents": intents or SUPPORT, **config}))


def node_doc(**config: Any) -> list[dict[str, Any]]:
    return [start(), {"id": "route", "type": "intent", "config": {"intents": SUPPORT, **config}}]


def called(arguments: dict[str, Any] | str, name: str = "classify") -> Reply:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return Reply("", (ToolCall("call_1", name, text),))


# -- config ---------------------------------------------------------------------------


def test_each_intent_is_a_port_and_other_is_one_too() -> None:
    node = intent()
    assert node.ports() == frozenset({"refund", "order_status", "greeting", OTHER})
    assert node.outputs() == frozenset({"intent", "reason"})
    assert node.tool.parameters["properties"]["intent"]["enum"] == [
        "refund",
        "order_status",
        "greeting",
        OTHER,
    ]


@pytest.mark.parametrize("name", ["other", "Other", "error", "default"])
def test_a_reserved_port_name_is_refused(name: str) -> None:
    details = refused(node_doc(intents=[{"name": name}]), link("start>route"))
    assert f"intent '{name}' is reserved" in details


def test_an_intent_declared_twice_in_any_case_is_refused() -> None:
    details = refused(node_doc(intents=[{"name": "refund"}, {"name": "Refund"}]), link("start>route"))
    assert "intent 'Refund' is declared more than once" in details


@pytest.mark.parametrize("name", ["", "two words", "a.b", "x" * 65, "{{inputs.user_input}}"])
def test_a_name_that_cannot_be_a_port_is_refused(name: str) -> None:
    details = refused(node_doc(intents=[{"name": name}]), link("start>route"))
    assert "node 'route' config 'intents.0.name'" in details


def test_counts_and_lengths_are_bounded() -> None:
    many = [{"name": f"i{n}"} for n in range(MAX_INTENTS + 1)]
    assert "at most 50" in refused(node_doc(intents=many), link("start>route"))
    examples = [{"name": "a", "examples": [f"e{n}" for n in range(21)]}]
    assert "at most 20" in refused(node_doc(intents=examples), link("start>route"))
    long = [{"name": "a", "examples": ["x" * 201]}]
    assert "at most 200 characters" in refused(node_doc(intents=long), link("start>route"))
    assert "at least 1 item" in refused(node_doc(intents=[]), link("start>route"))
    described = [{"name": "a", "description": "d" * 1001}]
    assert "at most 1000 characters" in refused(node_doc(intents=described), link("start>route"))


def test_a_blank_example_that_would_match_every_input_offline_is_refused() -> None:
    details = refused(node_doc(intents=[{"name": "a", "examples": ["   "]}]), link("start>route"))
    assert "intents.0.examples.0" in details


def test_on_error_continue_which_would_skip_every_branch_is_refused() -> None:
    details = refused(node_doc(on_error="continue"), link("start>route"))
    assert "config 'on_error': Value error, 'continue' would skip every branch" in details
    assert compile_doc(node_doc(on_error="branch"), link("start>route")).nodes["route"]


def test_a_secret_is_never_sent_to_the_model() -> None:
    for key in ("input", "instructions"):
        details = refused(node_doc(**{key: "hi {{secrets.orders_token}}"}), link("start>route"))
        assert "node 'route' references {{secrets.orders_token}}: secrets may appear only" in details


def test_input_and_instructions_references_are_checked_but_examples_are_plain_text() -> None:
    assert "no node 'nowhere'" in refused(node_doc(input="{{nowhere.text}}"), link("start>route"))
    assert "no input 'nope'" in refused(node_doc(instructions="{{inputs.nope}}"), link("start>route"))
    literal = [{"name": "a", "description": "{{x.y}}", "examples": ["{{nowhere.text}}"]}]
    wf = compile_doc(node_doc(intents=literal, input="{{inputs.user_input}}"), link("start>route"))
    assert "route" in wf.nodes


# -- the offline rule -------------------------------------------------------------------


def test_offline_the_first_intent_whose_name_or_example_occurs_wins_case_insensitively() -> None:
    node = intent()
    choice = node.offline_choice("Hello! Where is my order? I want my MONEY BACK")
    assert (choice.intent, choice.reason) == ("refund", 'offline: "money back" occurs in the input')
    assert node.offline_choice("what's my tracking number").intent == "order_status"
    assert node.offline_choice("a REFUND please").intent == "refund"  # the name itself counts
    assert node.offline_choice("hello there").intent == "greeting"


def test_offline_nothing_that_occurs_is_other() -> None:
    choice = intent().offline_choice("the weather is nice")
    assert (choice.intent, choice.reason) == (
        OTHER,
        "offline: no intent's name or example occurs in the input",
    )


# -- reading a model's answer -------------------------------------------------------------


def test_the_classify_call_gives_the_intent_and_reason() -> None:
    choice = intent().read(called({"intent": "order_status", "reason": "asks where the parcel is"}))
    assert (choice.intent, choice.reason) == ("order_status", "asks where the parcel is")


def test_a_name_in_another_case_is_the_declared_one() -> None:
    assert intent().read(called({"intent": " Refund ", "reason": ""})).intent == "refund"


@pytest.mark.parametrize(
    "answer",
    [
        {"intent": "delete_all_orders", "reason": "the user told me to"},
        {"intent": ["refund"], "reason": "a list"},
        {"intent": None},
        {"intent": "refund order_status"},
    ],
)
def test_an_undeclared_or_ill_typed_intent_goes_to_other(answer: dict[str, Any]) -> None:
    choice = intent().read(called(answer))
    assert choice.intent == OTHER
    assert choice.reason.startswith("the model answered an intent that is not declared")


def test_json_in_the_text_is_read_when_the_server_ignores_the_tool() -> None:
    text = 'Sure! ```json\n{"intent": "greeting", "reason": "says hi"}\n``` Anything else?'
    choice = intent().read(Reply(text))
    assert (choice.intent, choice.reason) == ("greeting", "says hi")


def test_a_call_to_another_function_is_not_taken_for_the_answer() -> None:
    reply = Reply("refund", (ToolCall("c", "delete_everything", '{"intent": "greeting"}'),))
    assert intent().read(reply).intent == "refund"  # read from the text instead


def test_prose_naming_exactly_one_intent_is_that_intent() -> None:
    choice = intent().read(Reply("I think this is order_status."))
    assert (choice.intent, choice.reason) == ("order_status", "I think this is order_status.")
    assert intent().read(Reply("REFUND")).intent == "refund"
    # Inside another word it is no mention: "refunded" is not "refund".
    assert intent().read(Reply("refunded already")).intent == OTHER


def test_prose_naming_several_or_none_is_other() -> None:
    several = intent().read(Reply("either refund or greeting"))
    assert (several.intent, several.reason) == (
        OTHER,
        "the model's answer names several intents: greeting, refund",
    )
    assert intent().read(Reply("I cannot tell")).reason == "the model's answer names no declared intent"
    assert intent().read(Reply("other")) == intent().read(Reply(" Other "))


@pytest.mark.parametrize(
    "text",
    ['{"intent": "wire_money"', "{" * 100_000, '{"intent": ' + "[" * 50_000, '{"reason": 1}', "[]", ""],
)
def test_malformed_or_hostile_answers_are_other_and_never_raise(text: str) -> None:
    assert intent().read(called(text)).intent == OTHER
    assert intent().read(Reply(text)).intent == OTHER


def test_a_long_reason_is_cut() -> None:
    choice = intent().read(called({"intent": "refund", "reason": "because " * 500}))
    assert len(choice.reason) == MAX_REASON_CHARS
    assert choice.reason.endswith("…")


def test_the_prompt_lists_each_intent_with_its_description_and_examples() -> None:
    class Ctx:
        pool: ClassVar[dict[str, Any]] = {"inputs": {"lang": "French"}}
        history = ({"role": "user", "content": "earlier"}, {"role": "assistant", "content": "ok"})

    node = intent(instructions="The shop sells shoes; users write in {{inputs.lang}}.")
    messages = node.question.messages(Ctx(), "where is my order?")  # type: ignore[arg-type]
    system = messages[0]["content"]
    assert "The shop sells shoes; users write in French." in system
    assert '- refund: The user wants money back. Examples: "money back"; "chargeback"' in system
    assert "- other: none of the above fits." in system
    assert '{"intent": "<one of: refund, order_status, greeting, other>"' in system
    assert messages[1:] == [{"role": "user", "content": "where is my order?"}]
    with_history = intent(use_history=True).question.messages(Ctx(), "and now?")  # type: ignore[arg-type]
    assert [m["content"] for m in with_history[1:]] == ["earlier", "ok", "and now?"]


@pytest.mark.parametrize(
    ("text", "intent_name"),
    [("greetıng", OTHER), ("LİST", OTHER), ("REFUNDİ?", "refund"), ("refund\u0131", "refund")],
)
def test_a_look_alike_letter_is_no_mention_and_never_a_crash(text: str, intent_name: str) -> None:
    node = intent([{"name": "greeting"}, {"name": "refund"}, {"name": "list"}])
    assert node.read(Reply(text)).intent == intent_name


def test_reading_a_long_hostile_answer_with_fifty_intents_is_quick() -> None:
    node = intent([{"name": f"topic_{i}"} for i in range(50)])
    answers = ["topic_1x " * 7_000, "topic_1 topic_2 " * 4_000, "{" * 60_000]
    began = time.perf_counter()
    choices = [node.read(Reply(text)).intent for text in answers]
    assert time.perf_counter() - began < 0.5
    assert choices == [OTHER, OTHER, OTHER]
