"""A question's buttons carry everything a press needs, within Telegram's 64 bytes, and a
press is read back only on the very question it was shown with."""

from __future__ import annotations

from typing import Any

from bots.questions import buttons, choice, read_key
from engine.clock import new_id

QUESTION: dict[str, Any] = {
    "text": "Which size?",
    "options": [{"id": "small", "label": "Small cup"}, {"id": "x" * 64, "label": "L" * 200}],
}


def test_a_buttons_key_fits_telegram_and_reads_back_to_its_option() -> None:
    execution_id = new_id("exec")
    shown = buttons(execution_id, QUESTION)
    assert [b.label for b in shown] == ["Small cup", "L" * 200]
    for index, button in enumerate(shown):
        assert len(button.key.encode()) <= 64
        assert button.key.isascii()
        pressed = read_key(button.key)
        assert pressed is not None
        assert (pressed.execution_id, pressed.index) == (execution_id, index)
        option = QUESTION["options"][index]
        assert choice(pressed, QUESTION) == (option["id"], option["label"])


def test_a_press_on_another_questions_buttons_picks_nothing() -> None:
    [small, _] = buttons("exec_1", QUESTION)
    pressed = read_key(small.key)
    assert pressed is not None
    asked_again = {**QUESTION, "text": "Which size, really?"}
    assert choice(pressed, asked_again) is None
    assert choice(pressed, {**QUESTION, "options": []}) is None


def test_keys_that_are_not_ours_are_not_read() -> None:
    [small, _] = buttons("exec_1", QUESTION)
    for key in [
        "",
        "q:",
        "hello",
        small.key + "00",
        small.key.replace("q:", "x:"),
        "q:a b:0000abcd:0",
        "q:e:zzzz0000:1",
    ]:
        assert read_key(key) is None, key
