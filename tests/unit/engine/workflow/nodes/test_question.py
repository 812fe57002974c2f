"""The question node: its options are checked with the workflow, and an answer leads to the
option it names (id or label, any case), to ``other``, or is asked again."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from engine.workflow.nodes.question import MAX_ANSWER_CHARS, MAX_OPTIONS, QuestionConfig, QuestionNode
from tests.support.workflow_docs import link, refused, start

SIZES = [{"id": "small", "label": "Small cup"}, {"id": "large", "label": "Large cup"}]
SHOWN = {"text": "Which size?", "options": SIZES}  # the question as it was asked
OPEN = {"text": "Which colour?", "options": []}


def question(**config: Any) -> QuestionNode:
    return QuestionNode("ask", QuestionConfig.model_validate({"question": "Which size?", **config}))


def test_an_option_is_chosen_by_its_id_or_its_label_in_any_case() -> None:
    node = question(options=SIZES)
    assert node.choose(SHOWN, None, "large", 1) is not None
    by_id = node.choose(SHOWN, None, "large", 1)
    assert by_id is not None
    assert (by_id.port, by_id.option, by_id.answer) == ("large", "large", "Large cup")
    typed = node.choose(SHOWN, "  small   CUP ", None, 1)
    assert typed is not None
    assert (typed.port, typed.option, typed.answer) == (
        "small",
        "small",
        "  small   CUP ",
    )
    assert (c := node.choose(SHOWN, "LARGE", None, 1)) is not None
    assert c.port == "large"
    assert node.ports() == frozenset({"small", "large", "other", "timeout"})
    assert node.outputs() == frozenset({"answer", "option"})


def test_without_free_text_an_unmatched_answer_is_asked_again_then_goes_to_other() -> None:
    node = question(options=SIZES, max_attempts=3)
    assert node.free_text(SIZES) is False  # options and no allow_free_text: the options only
    assert node.choose(SHOWN, "medium", None, 1) is None
    assert node.choose(SHOWN, None, "medium", 2) is None  # an id that is no option's
    last = node.choose(SHOWN, "medium", None, 3)
    assert last is not None
    assert (last.port, last.answer, last.option) == ("other", "medium", None)


def test_free_text_goes_to_other_at_once() -> None:
    open_question = question()
    assert open_question.free_text([]) is True  # no options: any text is the answer
    c = open_question.choose(OPEN, "Blue, please", None, 1)
    assert c is not None
    assert c.outputs() == {"answer": "Blue, please", "option": None}
    assert c.port == "other"
    mixed = question(options=SIZES, allow_free_text=True)
    c = mixed.choose(SHOWN, "a mug", None, 1)
    assert c is not None
    assert c.port == "other"


def test_a_long_answer_is_cut_to_the_bound() -> None:
    c = question().choose(OPEN, "x" * (MAX_ANSWER_CHARS * 3), None, 1)
    assert c is not None
    assert c.answer is not None
    assert len(c.answer) == MAX_ANSWER_CHARS


def test_the_timeout_takes_its_own_port() -> None:
    c = question(options=SIZES).timed_out()
    assert (c.port, c.answer, c.option) == ("timeout", None, None)


def test_the_wait_is_not_the_runners_node_time_limit() -> None:
    node = question(timeout_s=5)
    assert node.wait_s == 5
    assert node.timeout_s is None  # the runner never cuts the (instant) node short
    assert question().wait_s == 86_400


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ({"options": [{"id": "other", "label": "Other"}]}, "reserved"),
        ({"options": [{"id": "timeout", "label": "Later"}]}, "reserved"),
        ({"options": [{"id": "a", "label": "A"}, {"id": "A", "label": "B"}]}, "more than one"),
        ({"options": [{"id": "has space", "label": "A"}]}, "pattern"),
        ({"options": [{"id": f"o{i}", "label": "x"} for i in range(MAX_OPTIONS + 1)]}, "at most"),
        ({"options": "pick {{a.b}}"}, "exactly one reference"),
        ({"allow_free_text": False}, "must allow free text"),
        ({"timeout_s": 0}, "greater than 0"),
        ({"max_attempts": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_configs_are_refused_with_the_reason(config: dict[str, Any], said: str) -> None:
    with pytest.raises(ValidationError) as caught:
        QuestionConfig.model_validate({"question": "Which?", **config})
    assert said in str(caught.value)


def test_a_connection_from_a_port_the_question_does_not_have_is_refused() -> None:
    ask = {"id": "ask", "type": "question", "config": {"question": "Which?", "options": SIZES}}
    end = {"id": "done", "type": "end", "config": {"content": "ok"}}
    details = refused(
        [start(), ask, end], [*link("start>ask"), {"from": "ask", "port": "medium", "to": "done"}]
    )
    assert "medium" in details


def test_options_the_run_makes_leave_by_the_default_port_with_their_id() -> None:
    node = question(options="{{orders.json.items}}")
    assert node.ports() == frozenset({"default", "other", "timeout"})
    shown = {"text": "Which order?", "options": [{"id": "A-17", "label": "Order A-17 (shoes)"}]}
    c = node.choose(shown, "order a-17 (SHOES)", None, 1)
    assert c is not None
    assert (c.port, c.option) == ("default", "A-17")
