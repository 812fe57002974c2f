"""A question's options as an inline keyboard, and how the question reads once answered."""

from __future__ import annotations

import html
from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bots.base import Button
from bots.split import utf16_len

MAX_BUTTONS = 100  # Telegram's limit per keyboard (questions have at most 25 options)
SHORT_LABEL = 14  # UTF-16 units: two such buttons side by side still show their whole labels
MAX_LABEL = 64  # longer labels are cut (Telegram shows about this much on a phone anyway)


def inline_keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """One button per row, or two per row when every label is short; None without buttons."""
    shown = [
        InlineKeyboardButton(text=_label(button.label), callback_data=button.key)
        for button in buttons[:MAX_BUTTONS]
    ]
    if not shown:
        return None
    per_row = 2 if all(utf16_len(b.text) <= SHORT_LABEL for b in shown) else 1
    rows = [shown[i : i + per_row] for i in range(0, len(shown), per_row)]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _label(label: str) -> str:
    # Telegram refuses a button with a blank text (BUTTON_TEXT_INVALID).
    text = " ".join(label.split()) or "…"
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def answered_html(question_html: str, label: str) -> str:
    """The question message once answered: its text, then the choice (HTML)."""
    return f"{question_html}\n\n→ {html.escape(label, quote=False)}"
