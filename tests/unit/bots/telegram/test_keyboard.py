"""A question's options as Telegram buttons: readable on a phone, always accepted by Telegram."""

from __future__ import annotations

from bots.base import Button
from bots.telegram.keyboard import answered_html, inline_keyboard
from tests.emulators.telegram.keyboards import read_markup


def layout(labels: list[str]) -> list[list[str]]:
    markup = inline_keyboard([Button(key=f"q:x:{i}", label=label) for i, label in enumerate(labels)])
    assert markup is not None
    # What Telegram would be sent must pass its checks (the emulator's, which refuse what it refuses).
    checked = read_markup(markup.model_dump(exclude_none=True))
    assert checked is not None
    return [[button["text"] for button in row] for row in checked["inline_keyboard"]]


def test_short_labels_go_two_per_row() -> None:
    assert layout(["Yes", "No", "Maybe"]) == [["Yes", "No"], ["Maybe"]]


def test_a_long_label_puts_every_option_on_its_own_row() -> None:
    assert layout(["Yes", "Only on weekdays after six"]) == [["Yes"], ["Only on weekdays after six"]]


def test_every_button_sends_back_its_key() -> None:
    markup = inline_keyboard([Button(key="q:x:0", label="A"), Button(key="q:x:1", label="B")])
    assert markup is not None
    assert [b.callback_data for row in markup.inline_keyboard for b in row] == ["q:x:0", "q:x:1"]


def test_blank_and_overlong_labels_still_make_valid_buttons() -> None:
    [[blank], [long]] = layout(["  \n ", "x" * 300])
    assert blank == "…"
    assert len(long) == 64
    assert long.endswith("…")


def test_no_buttons_no_keyboard() -> None:
    assert inline_keyboard([]) is None


def test_the_answered_question_shows_the_choice_escaped() -> None:
    assert answered_html("<b>Which?</b>", "Fish & <chips>") == "<b>Which?</b>\n\n→ Fish &amp; &lt;chips&gt;"
