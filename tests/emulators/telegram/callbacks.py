"""Button presses: tests push ``callback_query`` updates; the bot answers them with
``answerCallbackQuery`` (the toast), once each.

Fidelity notes: a query may be answered once; a second answer, or an answer to an id never
handed out, is refused as Telegram refuses a too old one. Telegram also refuses answers that
come too late (after some seconds); ``callback_answer_within_s`` enables that check (off by
default, so a slow test machine does not fail stories that answer at once). The pressed data
is not checked against the message's keyboard: a client showing an outdated message can send
a press for a keyboard that is gone, which is what a stale-press story needs.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.emulators.telegram.keyboards import button_rows
from tests.emulators.telegram.responses import bad_request
from tests.emulators.telegram.state import BotState, TelegramState

QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
MAX_TOAST_CHARS = 200


@dataclass
class CallbackQuery:
    """One press as the emulator handed it out, and the bot's answers to it."""

    id: str
    token: str  # the bot it was handed to
    chat_id: int
    message_id: int
    data: str
    pushed_at: float  # time.monotonic()
    answers: list[dict[str, Any]] = field(default_factory=list)  # answerCallbackQuery params


class CallbackQueries(TelegramState):
    """``push_callback_query`` and ``answerCallbackQuery``."""

    def __init__(self) -> None:
        super().__init__()
        self.callback_answer_within_s: float | None = None
        self._queries: dict[str, CallbackQuery] = {}
        self._next_query = 1

    def push_callback_query(
        self,
        token: str,
        chat_id: int,
        from_user: int | dict[str, Any],
        message_id: int,
        data: str,
        *,
        first_name: str = "Alice",
    ) -> dict[str, Any]:
        """Queue a press of a button with ``data`` on the bot's message ``message_id`` by
        ``from_user`` (a User object or a user id) and return the Update."""
        bot = self._bot(token)
        chat = bot.chats.get(chat_id)
        sent = chat.sent_by_id.get(message_id) if chat is not None else None
        if chat is None or sent is None or sent.deleted:
            raise ValueError(f"push_callback_query: the bot has no message {message_id} in chat {chat_id}")
        user = (
            dict(from_user)
            if isinstance(from_user, dict)
            else {"id": from_user, "is_bot": False, "first_name": first_name, "language_code": "en"}
        )
        # Numeric strings like Telegram's, unique across bots of this emulator.
        query_id = str(bot.id * 1_000_000 + self._next_query)
        self._next_query += 1
        self._queries[query_id] = CallbackQuery(query_id, token, chat_id, message_id, data, time.monotonic())
        query = {
            "id": query_id,
            "from": user,
            "message": dict(sent.message),
            "chat_instance": str(zlib.crc32(f"{bot.id}:{chat_id}".encode()) - 2**31),
            "data": data,
        }
        update = {"update_id": bot.next_update_id, "callback_query": query}
        bot.enqueue(update)
        return update

    def callback_answers(self, token: str | None = None) -> list[dict[str, Any]]:
        """Every accepted ``answerCallbackQuery``, oldest first (``callback_query_id``,
        ``text``, ``show_alert``...)."""
        calls = self._calls_by_method.get("answercallbackquery", [])
        return [dict(call.params) for call in calls if call.ok and token in (None, call.token)]

    def toasts(self, token: str | None = None) -> list[str]:
        """The texts shown to pressers (an answer without text shows none: "")."""
        return [str(answer.get("text") or "") for answer in self.callback_answers(token)]

    def answers_to(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        """The accepted answers to the press of this pushed Update."""
        query = self._queries[update["callback_query"]["id"]]
        return list(query.answers)

    def keyboard(self, token: str, chat_id: int, message_id: int) -> list[list[dict[str, Any]]]:
        """The buttons the message shows now, as rows (``[]``: none)."""
        chat = self._bot(token).chats.get(chat_id)
        sent = chat.sent_by_id.get(message_id) if chat is not None else None
        if sent is None:
            raise KeyError(f"the bot has no message {message_id} in chat {chat_id}")
        return button_rows(sent.message.get("reply_markup"))

    async def _answer_callback_query(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> bool:
        query = self._queries.get(str(params.get("callback_query_id") or ""))
        if query is None or query.answers or query.token != bot.token:
            raise bad_request(QUERY_TOO_OLD)
        late = self.callback_answer_within_s
        if late is not None and time.monotonic() - query.pushed_at > late:
            raise bad_request(QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > MAX_TOAST_CHARS):
            raise bad_request("MESSAGE_TOO_LONG")
        query.answers.append(dict(params))
        return True
