"""Incoming updates: test-side messages queued per bot, getUpdates long polling, webhooks.

Webhooks are recorded (and block getUpdates) but updates are never delivered to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections import deque
from typing import Any

from aiohttp import web

from tests.emulators.telegram.responses import CONFLICT_OTHER_POLLER, CONFLICT_WEBHOOK, ApiError, bad_request
from tests.emulators.telegram.state import BotState, StoredFile, TelegramState, reply_copy
from tests.emulators.telegram.text import make_entity, utf16_len

MAX_LONG_POLL_S = 50.0
# Not sent unless asked for by name in allowed_updates.
_ONLY_ON_REQUEST = frozenset(["chat_member", "message_reaction", "message_reaction_count"])


def _is_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _drop_unwanted(bot: BotState) -> None:
    """Telegram never hands out update types the bot's last ``allowed_updates`` left out."""
    wanted = bot.allowed_updates

    def handed_out(update: dict[str, Any]) -> bool:
        kind = _update_type(update)
        return kind in wanted if wanted else kind not in _ONLY_ON_REQUEST

    if not all(map(handed_out, bot.updates)):
        bot.updates = deque(filter(handed_out, bot.updates))


def _update_type(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


class UpdateQueue(TelegramState):
    """Updates tests push and the Bot API methods that hand them to the bot."""

    def push_update(self, token: str, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw Update (``update_id`` assigned when missing) and return it."""
        bot = self._bot(token)
        if "update_id" not in update:
            update["update_id"] = bot.next_update_id
        for key in ("message", "edited_message", "channel_post", "business_message"):
            message = update.get(key)
            if (
                isinstance(message, dict)
                and isinstance(message.get("chat"), dict)
                and "message_id" in message
            ):
                chat = self._chat_for(bot, int(message["chat"]["id"]), message["chat"])
                chat.remember(message)
        bot.enqueue(update)
        return update

    def push_message(
        self,
        token: str,
        *,
        chat_id: int,
        text: str | None = None,
        user_id: int = 1001,
        chat_type: str = "private",
        first_name: str = "Alice",
        username: str | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        is_topic_message: bool = False,
        caption: str | None = None,
        photo: bool = False,
        sticker: bool = False,
        date: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Queue an incoming user message as an Update and return the Update."""
        bot = self._bot(token)
        chat = self._chat_for(bot, chat_id, self._chat_object(chat_id, chat_type, first_name, username))
        if is_topic_message and chat.chat.get("type") == "supergroup":
            chat.chat["is_forum"] = True
        sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username is not None:
            sender["username"] = username
        sender["language_code"] = "en"
        message: dict[str, Any] = {
            "message_id": chat.take_message_id(),
            "from": sender,
            "chat": chat.chat,
            "date": int(time.time()) if date is None else date,
        }
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
        if is_topic_message:
            message["is_topic_message"] = True
        if reply_to_message_id is not None:
            replied = chat.messages.get(reply_to_message_id)
            if replied is None:
                raise ValueError(f"push_message: no message {reply_to_message_id} in chat {chat_id}")
            message["reply_to_message"] = reply_copy(replied)
        self._add_text(message, ("text", "entities"), text, entities, bot.username)
        self._add_media(message, chat_id, photo=photo, sticker=sticker)
        for size in message.get("photo", ()):  # downloadable, as a user's photo is
            file_id = size["file_id"]
            bot.files[file_id] = StoredFile(
                file_id, size["file_unique_id"], b"\xff" * size["file_size"], f"photos/{file_id}.jpg"
            )
        self._add_text(message, ("caption", "caption_entities"), caption, None, bot.username)
        chat.remember(message)
        update = {"update_id": bot.next_update_id, "message": message}
        if not (self.enforce_privacy_mode and not self._bot_can_see(bot, message)):
            bot.enqueue(update)
        else:
            bot.next_update_id += 1
        return update

    def _add_text(
        self,
        message: dict[str, Any],
        keys: tuple[str, str],
        text: str | None,
        entities: list[dict[str, Any]] | None,
        bot_username: str,
    ) -> None:
        """A pushed message's text or caption (``keys``: its key and its entities' key), with the
        given entities or else those a client would mark."""
        if text is None:
            return
        key, entities_key = keys
        message[key] = text
        found = entities if entities is not None else self._auto_entities(text, bot_username)
        if found:
            message[entities_key] = found

    @staticmethod
    def _add_media(message: dict[str, Any], chat_id: int, *, photo: bool, sticker: bool) -> None:
        """A photo (three sizes) and/or a sticker on a pushed message."""
        if photo:
            message["photo"] = [
                {
                    "file_id": f"photo-{chat_id}-{message['message_id']}-{size}",
                    "file_unique_id": f"p{chat_id}{message['message_id']}{size}",
                    "width": size,
                    "height": size,
                    "file_size": size * 40,
                }
                for size in (90, 320, 800)
            ]
        if sticker:
            message["sticker"] = {
                "file_id": f"sticker-{chat_id}-{message['message_id']}",
                "file_unique_id": f"s{chat_id}{message['message_id']}",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            }

    def pending_updates(self, token: str) -> list[dict[str, Any]]:
        return list(self._bot(token).updates)

    @staticmethod
    def _auto_entities(text: str, bot_username: str) -> list[dict[str, Any]]:
        entities: list[dict[str, Any]] = []
        command_end = 0
        command = re.match(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?", text)
        if command:
            command_end = command.end()
            entities.append(make_entity("bot_command", 0, utf16_len(command.group(0))))
        mention = re.compile("@" + re.escape(bot_username) + r"(?![A-Za-z0-9_])", re.IGNORECASE)
        for found in mention.finditer(text, command_end):
            entities.append(
                make_entity("mention", utf16_len(text[: found.start()]), utf16_len(found.group(0)))
            )
        return entities

    @staticmethod
    def _bot_can_see(bot: BotState, message: dict[str, Any]) -> bool:
        """Privacy mode: in groups only commands, mentions of the bot and replies to it arrive."""
        if message["chat"]["type"] in ("private", "channel") or bot.can_read_all_group_messages:
            return True
        replied = message.get("reply_to_message")
        if isinstance(replied, dict) and replied.get("from", {}).get("id") == bot.id:
            return True
        text = message.get("text") or message.get("caption") or ""
        for entity in message.get("entities") or message.get("caption_entities") or []:
            if entity["type"] == "bot_command":
                return True
            if entity["type"] == "mention":
                start = entity["offset"]
                chunk = text.encode("utf-16-le")[2 * start : 2 * (start + entity["length"])]
                if chunk.decode("utf-16-le").lower() == "@" + bot.username.lower():
                    return True
        return False

    async def _get_updates(self, bot: BotState, params: dict[str, Any], request: web.Request) -> list[Any]:
        if bot.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        if bot.poller is not None and not _is_gone(bot.poller):
            raise ApiError(409, CONFLICT_OTHER_POLLER)
        offset = params.get("offset")
        limit = params.get("limit")
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout")
        wait = min(float(timeout), MAX_LONG_POLL_S) if isinstance(timeout, int | float) else 0.0
        if isinstance(params.get("allowed_updates"), list):
            bot.allowed_updates = params["allowed_updates"]
        if isinstance(offset, int) and not isinstance(offset, bool) and offset != 0:
            bot.acknowledge(offset)
        bot.poller = request
        try:
            _drop_unwanted(bot)
            if not bot.updates and wait > 0 and not self._closing:
                bot.wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(bot.wakeup.wait(), wait)
                _drop_unwanted(bot)
            return list(itertools.islice(bot.updates, limit))
        finally:
            if bot.poller is request:
                bot.poller = None

    async def _set_webhook(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        url = str(params.get("url") or "")
        if params.get("drop_pending_updates"):
            bot.updates.clear()
        if not url:
            bot.webhook = None
            return True
        if not url.startswith(("https://", "http://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        bot.webhook = {key: value for key, value in params.items() if key != "certificate"}
        bot.wakeup.set()
        return True

    async def _delete_webhook(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        bot.webhook = None
        if params.get("drop_pending_updates"):
            bot.updates.clear()
        return True

    async def _get_webhook_info(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": bot.webhook["url"] if bot.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }
        if bot.webhook:
            info["max_connections"] = bot.webhook.get("max_connections", 40)
            if "allowed_updates" in bot.webhook:
                info["allowed_updates"] = bot.webhook["allowed_updates"]
        return info
