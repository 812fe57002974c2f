"""REST routes for messages, reactions, typing and threads, with the per-channel send/edit limits."""

from __future__ import annotations

import bisect

from aiohttp import web

from tests.emulators.discord.limits import check_channel_limit
from tests.emulators.discord.payloads import bot_user_object, thread_object
from tests.emulators.discord.protocol import (
    CHANNEL_FORUM,
    CHANNEL_PRIVATE_THREAD,
    CHANNEL_PUBLIC_THREAD,
    FLAG_HAS_THREAD,
    THREAD_TYPES,
    now_iso,
)
from tests.emulators.discord.responses import ApiError, invalid_form, json_response, no_content
from tests.emulators.discord.rest import RestApi, RestRequest
from tests.emulators.discord.state import MessageRecord


class MessageRoutes(RestApi):
    """``/channels/{channel_id}/messages`` and ``/channels/{channel_id}/threads``."""

    async def _r_list_messages(self, req: RestRequest) -> web.StreamResponse:
        channel = self._channel_for(req)
        records = [r for r in self._channel_messages.get(int(channel["id"]), []) if not r.deleted]
        ids = [r.id for r in records]
        limit = max(1, min(int(req.query.get("limit", 50)), 100))
        if "after" in req.query:
            start = bisect.bisect_right(ids, int(req.query["after"]))
            chosen = records[start : start + limit]
        elif "around" in req.query:
            mid = bisect.bisect_left(ids, int(req.query["around"]))
            start = max(0, mid - limit // 2)
            chosen = records[start : start + limit]
        else:
            end = bisect.bisect_left(ids, int(req.query["before"])) if "before" in req.query else len(records)
            chosen = records[max(0, end - limit) : end]
        return json_response(200, [self._rest_message(r) for r in reversed(chosen)])

    async def _r_create_message(self, req: RestRequest) -> web.StreamResponse:
        bot = req.require_bot()
        channel = self._channel_for(req)
        if channel["type"] == CHANNEL_FORUM:
            raise ApiError(400, {"message": "Cannot send messages in a non-text channel", "code": 50008})
        payload = req.body()
        self._validate_message_payload(payload, req.files)
        cid = int(channel["id"])
        # Only the 429 carries rate-limit headers: the client cannot pace itself from them,
        # as with Discord's limits that are not announced in advance.
        self._check_send_limit(cid)
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            existing = self._nonces.get((cid, str(nonce)))
            if existing is not None:
                return json_response(200, self._rest_message(self._messages[existing]))
        referenced = None
        ref = payload.get("message_reference")
        if ref:
            referenced = self._messages.get(int(ref.get("message_id", 0)))
            if referenced is None or referenced.deleted:
                if ref.get("fail_if_not_exists", True):
                    raise invalid_form(
                        ["message_reference"], "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                    )
                referenced = None
        allowed = payload.get("allowed_mentions")
        content = payload.get("content") or ""
        record = self._create_message(
            channel,
            author=bot_user_object(bot),
            content=content,
            mention_ids=self._parse_mentions(content, allowed, referenced, default_reply_ping=True),
            referenced=referenced,
            payload=payload,
            attachments=self._attachments_from(cid, req.files),
            flags=int(payload.get("flags") or 0) & ((1 << 2) | (1 << 12)),  # suppress embeds / notifications
            allowed_mentions=allowed,
        )
        if nonce is not None and payload.get("enforce_nonce"):
            self._nonces[(cid, str(nonce))] = record.id
        self._dispatch_message("MESSAGE_CREATE", record)
        return json_response(200, self._rest_message(record))

    async def _r_get_message(self, req: RestRequest) -> web.StreamResponse:
        rec = self._message_in(self._channel_for(req), req.int_param("message_id"))
        return json_response(200, self._rest_message(rec))

    def _check_edit_limit(self, channel_id: int) -> dict[str, str]:
        route = "PATCH /channels/{channel_id}/messages/{message_id}"
        return check_channel_limit(self.edit_limit, self._edit_windows, channel_id, route)

    def _check_send_limit(self, channel_id: int) -> dict[str, str]:
        return check_channel_limit(
            self.send_limit, self._send_windows, channel_id, "POST /channels/{channel_id}/messages"
        )

    async def _r_edit_message(self, req: RestRequest) -> web.StreamResponse:
        bot = req.require_bot()
        channel = self._channel_for(req)
        rec = self._message_in(channel, req.int_param("message_id"))
        if rec.author_id != bot.user_id:
            raise ApiError(403, {"message": "Cannot edit a message authored by another user", "code": 50005})
        headers = self._check_edit_limit(int(channel["id"]))
        self._apply_edit(rec, req.body(), req.files)
        self._dispatch_message("MESSAGE_UPDATE", rec)
        return json_response(200, self._rest_message(rec), headers)

    async def _r_delete_message(self, req: RestRequest) -> web.StreamResponse:
        channel = self._channel_for(req)
        rec = self._message_in(channel, req.int_param("message_id"))
        self._delete(rec)
        return no_content()

    async def _r_reaction(self, req: RestRequest) -> web.StreamResponse:
        self._message_in(self._channel_for(req), req.int_param("message_id"))
        return no_content()

    async def _r_create_thread(self, req: RestRequest) -> web.StreamResponse:
        bot = req.require_bot()
        parent = self._channel_for(req)
        if "guild_id" not in parent or parent["type"] in THREAD_TYPES:
            raise ApiError(400, {"message": "Cannot execute action on this channel type", "code": 50024})
        payload = req.body()
        name = payload.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise invalid_form(["name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        guild = self._guilds[int(parent["guild_id"])]
        starter: MessageRecord | None = None
        if "message_id" in req.params:
            starter = self._message_in(parent, req.int_param("message_id"))
            if starter.data.get("thread"):
                raise ApiError(
                    400, {"message": "A thread has already been created for this message", "code": 160004}
                )
            thread_id, thread_type = starter.id, CHANNEL_PUBLIC_THREAD
        else:
            thread_id = self._ids.next()
            thread_type = int(payload.get("type") or CHANNEL_PRIVATE_THREAD)
            if parent["type"] == CHANNEL_FORUM:
                thread_type = CHANNEL_PUBLIC_THREAD
        forum_message = payload.get("message") if parent["type"] == CHANNEL_FORUM else None
        if parent["type"] == CHANNEL_FORUM:
            self._validate_message_payload(forum_message or {}, req.files, prefix=["message"])
        thread = thread_object(
            guild.id,
            int(parent["id"]),
            thread_id,
            name=name,
            owner_id=bot.user_id,
            thread_type=thread_type,
            auto_archive_duration=int(payload.get("auto_archive_duration") or 1440),
        )
        thread["member"] = {
            "id": str(thread_id),
            "user_id": str(bot.user_id),
            "join_timestamp": now_iso(),
            "flags": 0,
        }
        self._register_thread(guild, thread, newly_created=True)
        if starter is not None:
            starter.data["thread"] = thread
            starter.data["flags"] = starter.flags | FLAG_HAS_THREAD
        response = dict(thread)
        if forum_message is not None:
            content = forum_message.get("content") or ""
            rec = self._create_message(
                thread,
                author=bot_user_object(bot),
                content=content,
                mention_ids=self._parse_mentions(
                    content, forum_message.get("allowed_mentions"), None, default_reply_ping=False
                ),
                message_id=thread_id,
                payload=forum_message,
                attachments=self._attachments_from(thread_id, req.files),
                allowed_mentions=forum_message.get("allowed_mentions"),
            )
            self._dispatch_message("MESSAGE_CREATE", rec)
            response["message"] = self._rest_message(rec)
        return json_response(201, response)
