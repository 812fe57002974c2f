"""Inline keyboards (``reply_markup`` with ``inline_keyboard``), checked as the Bot API checks them.

Wording follows Telegram where known (``BUTTON_DATA_INVALID``, "text buttons are unallowed in
the inline keyboard"); the texts for a malformed structure are Telegram's style, not verified.
"""

from __future__ import annotations

from typing import Any

from tests.emulators.telegram.responses import bad_request

MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS = 100
# A button must do something: these are the fields that give it an action.
_ACTIONS = frozenset(
    [
        "callback_data",
        "url",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    ]
)


def read_markup(value: Any) -> dict[str, Any] | None:
    """The inline keyboard a message will carry; None for none (or a reply keyboard, which
    does not appear on the message). Raises `ApiError` 400 for a malformed one."""
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in value:
        return None
    rows = value["inline_keyboard"]
    if not isinstance(rows, list):
        raise bad_request('field "inline_keyboard" must be an Array')
    count = 0
    for row in rows:
        if not isinstance(row, list):
            raise bad_request('field "inline_keyboard" must be an Array of Arrays')
        for button in row:
            _check_button(button)
            count += 1
    if count > MAX_BUTTONS:
        raise bad_request("REPLY_MARKUP_TOO_LONG")
    return {"inline_keyboard": [[dict(button) for button in row] for row in rows]}


def _check_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    if not _ACTIONS & button.keys():
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")


def button_rows(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    """A message's keyboard as rows of buttons (``[]`` without one)."""
    if markup is None:
        return []
    rows: list[list[dict[str, Any]]] = markup["inline_keyboard"]
    return rows
