"""Messages: creation with mentions and attachments, validation of payloads, edits and deletion."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from typing import Any

from tests.emulators.discord.components import validate_components
from tests.emulators.discord.gateway import GatewayEvents
from tests.emulators.discord.protocol import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    MAX_CONTENT,
    MAX_EMBEDS,
    MENTION_RE,
    MESSAGE_DEFAULT,
    MESSAGE_REPLY,
    THREAD_TYPES,
    Json,
    now_iso,
)
from tests.emulators.discord.responses import ApiError, invalid_form
from tests.emulators.discord.state import MessageRecord


class MessageStore(GatewayEvents):
    """Messages of every channel, made and changed as Discord does and announced on the gateway."""

    def _parse_mentions(
        self,
        content: str,
        allowed: Json | None,
        referenced: MessageRecord | None,
        *,
        default_reply_ping: bool,
    ) -> frozenset[int]:
        in_content = [int(m) for m in MENTION_RE.findall(content) if int(m) in self._users]
        if allowed is None:
            ids = set(in_content)
            reply_ping = default_reply_ping
        else:
            parse = allowed.get("parse") or []
            explicit = {int(u) for u in allowed.get("users") or []}
            ids = {u for u in in_content if "users" in parse or u in explicit}
            reply_ping = bool(allowed.get("replied_user", False))
        if referenced is not None and reply_ping:
            ids.add(referenced.author_id)
        return frozenset(ids)

    def _create_message(
        self,
        channel: Json,
        *,
        author: Json,
        content: str,
        mention_ids: frozenset[int],
        referenced: MessageRecord | None = None,
        message_id: int | None = None,
        payload: Json | None = None,
        attachments: Sequence[Json] = (),
        flags: int = 0,
        msg_type: int | None = None,
        extra: Json | None = None,
        allowed_mentions: Json | None = None,
        interaction_id: int | None = None,
    ) -> MessageRecord:
        payload = payload or {}
        channel_id = int(channel["id"])
        guild_id = int(channel["guild_id"]) if "guild_id" in channel else None
        mid = message_id if message_id is not None else self._ids.next()
        data: Json = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "type": msg_type if msg_type is not None else (MESSAGE_REPLY if referenced else MESSAGE_DEFAULT),
            "content": content,
            "author": author,
            "attachments": list(attachments),
            "embeds": list(payload.get("embeds") or []),
            "mentions": [self._users[u] for u in mention_ids if u in self._users],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": bool(payload.get("tts", False)),
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "flags": flags,
            "components": list(payload.get("components") or []),
        }
        if payload.get("nonce") is not None:
            data["nonce"] = payload["nonce"]
        if payload.get("poll"):
            data["poll"] = payload["poll"]
        if referenced is not None:
            data["message_reference"] = {
                "type": 0,
                "channel_id": str(referenced.channel_id),
                "message_id": str(referenced.id),
                **({"guild_id": str(referenced.guild_id)} if referenced.guild_id is not None else {}),
            }
        if extra:
            data.update(extra)
        if channel["type"] in THREAD_TYPES:
            data["position"] = channel["total_message_sent"]
            channel["message_count"] += 1
            channel["total_message_sent"] += 1
        channel["last_message_id"] = str(mid)
        rec = MessageRecord(
            data=data,
            channel_id=channel_id,
            guild_id=guild_id,
            author_id=int(author["id"]),
            mention_ids=mention_ids,
            referenced_id=referenced.id if referenced else None,
            allowed_mentions=allowed_mentions,
            interaction_id=interaction_id,
        )
        self._messages[mid] = rec
        self._channel_messages.setdefault(channel_id, []).append(rec)
        return rec

    def _rest_message(self, rec: MessageRecord) -> Json:
        data = dict(rec.data)
        if rec.referenced_id is not None:
            ref = self._messages.get(rec.referenced_id)
            data["referenced_message"] = None if ref is None or ref.deleted else ref.data
        return data

    def _validate_message_payload(
        self, payload: Json, files: Sequence[Any], *, prefix: Sequence[str] = (), edit: bool = False
    ) -> None:
        content = payload.get("content")
        if content is not None and not isinstance(content, str):
            raise invalid_form(
                [*prefix, "content"], "STRING_TYPE_CONVERT", "Could not interpret value as string."
            )
        if content is not None and len(content) > MAX_CONTENT:
            raise invalid_form(
                [*prefix, "content"], "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length."
            )
        embeds = payload.get("embeds") or []
        if len(embeds) > MAX_EMBEDS:
            raise invalid_form(
                [*prefix, "embeds"], "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length."
            )
        for i, embed in enumerate(embeds):
            if len(str(embed.get("description") or "")) > 4096:
                raise invalid_form(
                    [*prefix, "embeds", str(i), "description"],
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 4096 or fewer in length.",
                )
            if len(str(embed.get("title") or "")) > 256:
                raise invalid_form(
                    [*prefix, "embeds", str(i), "title"],
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 256 or fewer in length.",
                )
        validate_components(payload.get("components"), prefix)
        if sum(len(blob) for _, blob, _ in files) > self.upload_limit:
            raise ApiError(413, {"message": "Request entity too large", "code": 40005})
        if not edit and not (
            content
            or embeds
            or files
            or payload.get("sticker_ids")
            or payload.get("components")
            or payload.get("poll")
        ):
            raise ApiError(400, {"message": "Cannot send an empty message", "code": 50006})

    def _attachments_from(self, channel_id: int, files: Sequence[tuple[str, bytes, str]]) -> list[Json]:
        result = []
        for filename, blob, sent_type in files:
            # discord.py uploads everything as octet-stream; Discord tells the type by the name.
            guessed = mimetypes.guess_type(filename)[0] if sent_type == "application/octet-stream" else None
            content_type = guessed or sent_type
            aid = self._ids.next()
            self._attachments[aid] = blob
            self._attachment_types[aid] = content_type
            url = f"{self.cdn_base}/{channel_id}/{aid}/{filename}"
            result.append(
                {
                    "id": str(aid),
                    "filename": filename,
                    "size": len(blob),
                    "url": url,
                    "proxy_url": url,
                    "content_type": content_type,
                }
            )
        return result

    def _apply_edit(
        self,
        rec: MessageRecord,
        payload: Json,
        files: Sequence[tuple[str, bytes, str]],
        *,
        count: bool = True,
    ) -> None:
        self._validate_message_payload(payload, files, edit=True)
        data = rec.data
        if "content" in payload:
            data["content"] = payload["content"] or ""
            allowed = payload.get("allowed_mentions", rec.allowed_mentions)
            ref = self._messages.get(rec.referenced_id) if rec.referenced_id is not None else None
            rec.mention_ids = self._parse_mentions(data["content"], allowed, ref, default_reply_ping=False)
            data["mentions"] = [self._users[u] for u in rec.mention_ids if u in self._users]
        for key in ("embeds", "components"):
            if key in payload:
                data[key] = list(payload[key] or [])
        if "attachments" in payload or files:
            kept_ids = {str(a.get("id")) for a in payload.get("attachments") or []}
            kept = [a for a in data["attachments"] if a["id"] in kept_ids]
            data["attachments"] = kept + self._attachments_from(rec.channel_id, files)
        if "flags" in payload and payload["flags"] is not None:
            data["flags"] = (data["flags"] & ~(1 << 2)) | (
                int(payload["flags"]) & (1 << 2)
            )  # only SUPPRESS_EMBEDS
        if not (
            data["content"]
            or data["embeds"]
            or data["attachments"]
            or data["components"]
            or data["flags"] & FLAG_LOADING
        ):
            raise ApiError(400, {"message": "Cannot send an empty message", "code": 50006})
        if count:
            rec.edits += 1
            data["edited_timestamp"] = now_iso()

    def _delete(self, rec: MessageRecord) -> None:
        rec.deleted = True
        if rec.flags & FLAG_EPHEMERAL:
            return
        event: Json = {"id": str(rec.id), "channel_id": str(rec.channel_id)}
        if rec.guild_id is not None:
            event["guild_id"] = str(rec.guild_id)
        intent = INTENT_DIRECT_MESSAGES if rec.guild_id is None else INTENT_GUILD_MESSAGES
        self._broadcast(lambda s: s.wants(intent), "MESSAGE_DELETE", lambda: event)
