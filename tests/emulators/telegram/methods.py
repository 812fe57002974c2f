"""The Bot API methods that send, edit and delete messages, set commands and read chats."""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from tests.emulators.telegram.keyboards import read_markup
from tests.emulators.telegram.limits import check_flood
from tests.emulators.telegram.render import render_text
from tests.emulators.telegram.responses import NOT_MODIFIED, bad_request
from tests.emulators.telegram.state import (
    BotState,
    SentMessage,
    TelegramState,
    replied_message,
    reply_copy,
    scope_key,
)

_CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


class BotApiMethods(TelegramState):
    """Handlers of ``/bot{token}/{method}``: ``(bot, params, request) -> result``."""

    async def _accept(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        return True

    async def _get_me(self, bot: BotState, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        return dict(bot.me)

    async def _send_message(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> dict[str, Any]:
        chat = self._target_chat(bot, params)
        text, entities = render_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
        replied = replied_message(chat, params)
        markup = read_markup(params.get("reply_markup"))
        check_flood(self._buckets, self.flood_limit_per_chat, bot.token, int(chat.chat["id"]))
        message: dict[str, Any] = {
            "message_id": chat.take_message_id(),
            "from": bot.user,
            "chat": chat.chat,
            "date": int(time.time()),
        }
        thread_id = params.get("message_thread_id")
        if isinstance(thread_id, int) and thread_id:
            message["message_thread_id"] = thread_id
            if chat.chat.get("is_forum"):
                message["is_topic_message"] = True
        if replied is not None:
            message["reply_to_message"] = reply_copy(replied)
        message["text"] = text
        if entities:
            message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        chat.remember(message)
        parse_mode = params.get("parse_mode")
        sent = SentMessage(message, str(params.get("text", "")), str(parse_mode) if parse_mode else None)
        chat.sent.append(sent)
        chat.sent_by_id[message["message_id"]] = sent
        return message

    async def _edit_message_text(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> dict[str, Any]:
        chat, sent = self._own_message(bot, params, "message to edit not found")
        text, entities = render_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
        markup = read_markup(params.get("reply_markup"))  # none given: the keyboard goes
        message = sent.message
        if (
            text == message.get("text")
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        check_flood(self._buckets, self.flood_limit_per_chat, bot.token, int(chat.chat["id"]))
        message["text"] = text
        _set_or_pop(message, "entities", entities or None)
        _set_or_pop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        sent.edits += 1
        parse_mode = params.get("parse_mode")
        sent.parse_mode = str(parse_mode) if parse_mode else None
        sent.raw_text = str(params.get("text", ""))
        return message

    async def _edit_message_reply_markup(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> dict[str, Any]:
        _, sent = self._own_message(bot, params, "message to edit not found")
        markup = read_markup(params.get("reply_markup"))
        if markup == sent.message.get("reply_markup"):
            raise bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        _set_or_pop(sent.message, "reply_markup", markup)
        sent.message["edit_date"] = int(time.time())
        sent.edits += 1
        return sent.message

    async def _delete_message(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        chat = self._target_chat(bot, params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int) or chat.messages.pop(message_id, None) is None:
            raise bad_request("message to delete not found")
        sent = chat.sent_by_id.get(message_id)
        if sent is not None:
            sent.deleted = True
        return True

    async def _delete_messages(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        chat = self._target_chat(bot, params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not ids:
            raise bad_request("message identifiers are not specified")
        for message_id in ids:
            if isinstance(message_id, int) and chat.messages.pop(message_id, None) is not None:
                sent = chat.sent_by_id.get(message_id)
                if sent is not None:
                    sent.deleted = True
        return True

    async def _send_message_draft(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        chat = self._target_chat(bot, params)
        if chat.chat.get("type") != "private":
            # Invented wording: drafts exist in private chats only.
            raise bad_request("draft messages can be sent only to private chats")
        draft_id = params.get("draft_id")
        if not isinstance(draft_id, int) or draft_id == 0:
            raise bad_request("draft_id must be non-zero")
        render_text(params.get("text"), params.get("parse_mode"), params.get("entities"), allow_empty=True)
        chat.drafts.append(dict(params))
        return True

    async def _send_chat_action(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        chat = self._target_chat(bot, params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.actions.append(dict(params))
        return True

    async def _set_my_commands(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be a list of at most 100 BotCommand")
        cleaned: list[dict[str, Any]] = []
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            description = str(command.get("description", ""))
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append(dict(command))
        bot.commands_by_scope[scope_key(params.get("scope"), params.get("language_code"))] = cleaned
        return True

    async def _get_my_commands(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> list[dict[str, Any]]:
        return bot.commands_by_scope.get(scope_key(params.get("scope"), params.get("language_code")), [])

    async def _delete_my_commands(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        bot.commands_by_scope.pop(scope_key(params.get("scope"), params.get("language_code")), None)
        return True

    async def _get_chat(self, bot: BotState, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        chat = self._target_chat(bot, params)
        return {
            **chat.chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }


def _set_or_pop(message: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        message.pop(key, None)
    else:
        message[key] = value
