"""What the emulator remembers: bots, their chats and messages, queued updates, received calls."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import orjson
from aiohttp import web

from tests.emulators.telegram.limits import Bucket, Fault
from tests.emulators.telegram.responses import bad_request


@dataclass(slots=True)
class Call:
    """One HTTP request to ``/bot{token}/{method}``, as the emulator received it."""

    token: str
    method: str  # as sent (aiogram sends camelCase)
    params: dict[str, Any]
    time: float  # time.monotonic() on arrival
    status: int = 0  # HTTP status answered; 0 while pending or when the connection was dropped

    @property
    def ok(self) -> bool:
        return self.status == HTTPStatus.OK


@dataclass
class SentMessage:
    """A message the bot sent; ``message`` is the live Message object (edits applied)."""

    message: dict[str, Any]
    raw_text: str
    parse_mode: str | None
    edits: int = 0
    deleted: bool = False


@dataclass
class StoredFile:
    """A file the bot can get (a user's) or sent; ``data`` None: sent by URL, never fetched."""

    file_id: str
    file_unique_id: str
    data: bytes | None
    file_path: str
    name: str | None = None
    mime_type: str | None = None
    url: str | None = None

    @property
    def size(self) -> int | None:
        return None if self.data is None else len(self.data)


@dataclass
class ChatState:
    chat: dict[str, Any]  # the Chat object embedded in messages
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # every live message, by id
    sent: list[SentMessage] = field(default_factory=list)  # the bot's, in order
    sent_by_id: dict[int, SentMessage] = field(default_factory=dict)
    drafts: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def remember(self, message: dict[str, Any]) -> None:
        message_id = int(message["message_id"])
        self.messages[message_id] = message
        if message_id >= self.next_message_id:
            self.next_message_id = message_id + 1


@dataclass
class BotState:
    token: str
    me: dict[str, Any]  # getMe result
    updates: deque[dict[str, Any]] = field(default_factory=deque)  # unacknowledged, by update_id
    next_update_id: int = 1
    chats: dict[int, ChatState] = field(default_factory=dict)
    commands_by_scope: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None
    files: dict[str, StoredFile] = field(default_factory=dict)  # by file_id
    allowed_updates: list[str] | None = None  # the last given to getUpdates: what it hands out
    poller: web.Request | None = field(default=None, repr=False)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def id(self) -> int:
        return int(self.me["id"])

    @property
    def username(self) -> str:
        return str(self.me["username"])

    @property
    def can_read_all_group_messages(self) -> bool:
        return bool(self.me["can_read_all_group_messages"])

    @property
    def user(self) -> dict[str, Any]:
        """The bot as the ``from`` User of its messages."""
        return {key: self.me[key] for key in ("id", "is_bot", "first_name", "username")}

    @property
    def commands(self) -> list[dict[str, Any]]:
        """Commands for the default scope and no language."""
        return self.commands_by_scope.get(scope_key(None, None), [])

    def enqueue(self, update: dict[str, Any]) -> None:
        if self.updates and update["update_id"] <= self.updates[-1]["update_id"]:
            self.updates = deque(sorted([*self.updates, update], key=lambda u: int(u["update_id"])))
        else:
            self.updates.append(update)
        self.next_update_id = max(self.next_update_id, int(update["update_id"]) + 1)
        self.wakeup.set()

    def acknowledge(self, offset: int) -> None:
        if offset < 0:
            # Negative offset: keep only the last -offset updates.
            while len(self.updates) > -offset:
                self.updates.popleft()
            return
        while self.updates and self.updates[0]["update_id"] < offset:
            self.updates.popleft()


def scope_key(scope: Any, language_code: Any) -> tuple[str, str]:
    if not isinstance(scope, dict):
        scope = {"type": "default"}
    return orjson.dumps(scope, option=orjson.OPT_SORT_KEYS).decode(), str(language_code or "")


def reply_copy(message: dict[str, Any]) -> dict[str, Any]:
    # Telegram embeds the replied-to message one level deep only.
    return {key: value for key, value in message.items() if key != "reply_to_message"}


def replied_message(chat: ChatState, params: dict[str, Any]) -> dict[str, Any] | None:
    """The message a send replies to (``reply_parameters`` or the older fields); None: none."""
    reply = params.get("reply_parameters")
    if isinstance(reply, dict):
        message_id = reply.get("message_id")
        tolerant = bool(reply.get("allow_sending_without_reply"))
    else:
        message_id = params.get("reply_to_message_id")
        tolerant = bool(params.get("allow_sending_without_reply"))
    if message_id is None:
        return None
    replied = chat.messages.get(message_id) if isinstance(message_id, int) else None
    if replied is None and not tolerant:
        raise bad_request("message to be replied not found")
    return replied


class TelegramState:
    """The emulator's state and the lookups every part of it shares."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.bots: dict[str, BotState] = {}
        # Messages per second per chat for sendMessage/editMessageText; None = unlimited.
        self.flood_limit_per_chat: float | None = None
        # When true, group messages a privacy-mode bot could not see are not queued.
        self.enforce_privacy_mode = False
        self._calls_by_method: dict[str, list[Call]] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._buckets: dict[tuple[str, int], Bucket] = {}
        self._down_status: int | None = None
        self._down_html = False
        self._closing = False

    def _bot(self, token: str) -> BotState:
        try:
            return self.bots[token]
        except KeyError:
            raise KeyError(f"unknown bot token {token!r}; call add_bot() first") from None

    @staticmethod
    def _chat_object(chat_id: int, chat_type: str, first_name: str, username: str | None) -> dict[str, Any]:
        if chat_type == "private":
            chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": first_name}
            if username is not None:
                chat["username"] = username
            return chat
        return {"id": chat_id, "type": chat_type, "title": f"Test {chat_type} {chat_id}"}

    def _chat_for(self, bot: BotState, chat_id: int, chat: dict[str, Any] | None = None) -> ChatState:
        state = bot.chats.get(chat_id)
        if state is None:
            if chat is None:
                if chat_id > 0:
                    chat = {"id": chat_id, "type": "private", "first_name": "User"}
                elif chat_id <= -1_000_000_000_000:
                    chat = {"id": chat_id, "type": "supergroup", "title": f"Supergroup {chat_id}"}
                else:
                    chat = {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}
            state = ChatState(chat=dict(chat))
            bot.chats[chat_id] = state
        elif chat is not None and chat.get("type") != state.chat.get("type"):
            state.chat.update(chat)
        return state

    def _target_chat(self, bot: BotState, params: dict[str, Any]) -> ChatState:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise bad_request("chat not found")
        return self._chat_for(bot, chat_id)

    def _own_message(
        self, bot: BotState, params: dict[str, Any], missing: str
    ) -> tuple[ChatState, SentMessage]:
        if params.get("inline_message_id"):
            raise bad_request(missing)
        chat = self._target_chat(bot, params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        sent = chat.sent_by_id.get(message_id)
        if sent is None or sent.deleted:
            if message_id in chat.messages:
                raise bad_request("message can't be edited")
            raise bad_request(missing)
        return chat, sent
