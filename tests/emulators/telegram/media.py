"""Files: users' photos, documents, voice notes... pushed by tests; ``getFile`` and the file
download a bot reads them with; ``sendPhoto``, ``sendDocument`` and ``sendMediaGroup``.

Fidelity notes: a bot downloads at most 20 MB (``getFile`` refuses bigger files with "file is
too big"; ``download_limit_bytes`` lowers that for tests); uploads are bounded as Telegram
bounds them (photos 10 MB, other files 50 MB; 413 past it). A photo sent by the bot gets one
size (Telegram makes several). A URL given instead of an upload is recorded, never fetched
(no network beyond loopback); a file_id given must be one the emulator knows.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from aiohttp import web

from tests.emulators.telegram.render import render_text
from tests.emulators.telegram.responses import ApiError, bad_request
from tests.emulators.telegram.state import (
    BotState,
    ChatState,
    SentMessage,
    StoredFile,
    replied_message,
    reply_copy,
)
from tests.emulators.telegram.text import utf16_len
from tests.emulators.telegram.updates import UpdateQueue

MIB = 1024 * 1024
MAX_CAPTION_UTF16 = 1024
_UPLOAD_LIMIT = {"photo": 10 * MIB}
_DEFAULT_UPLOAD_LIMIT = 50 * MIB
_FOLDERS = {
    "photo": "photos",
    "document": "documents",
    "voice": "voice",
    "audio": "music",
    "video_note": "video_notes",
    "video": "videos",
}
# Which kinds one media group may mix (Telegram: photos with videos; documents or audio alone).
_GROUPS = ({"photo", "video"}, {"document"}, {"audio"})


class MediaMethods(UpdateQueue):
    """Files in and out; see the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.download_limit_bytes = 20 * MIB
        self._file_numbers = itertools.count(1)

    # -- test control

    def push_file_message(
        self,
        token: str,
        *,
        chat_id: int,
        photo: list[bytes] | None = None,
        document: tuple[str, str, bytes] | None = None,
        voice: bytes | None = None,
        audio: tuple[str, str, bytes] | None = None,
        video_note: bytes | None = None,
        caption: str | None = None,
        **message: Any,
    ) -> dict[str, Any]:
        """Queue a user's message with a file (``photo``: the bytes of each size, smallest first;
        ``document``/``audio``: (file name, MIME type, bytes)) and return the Update; the other
        keywords are `push_message`'s."""
        bot = self._bot(token)
        update = self.push_message(token, chat_id=chat_id, caption=caption, **message)
        sent = update["message"]  # (not handed out yet: nothing awaited since it was queued)
        if photo is not None:
            sent["photo"] = [self._photo_size(bot, data, i) for i, data in enumerate(photo)]
        if document is not None:
            name, mime_type, data = document
            sent["document"] = self._file_object(bot, "document", data, name=name, mime_type=mime_type)
        if voice is not None:
            sent["voice"] = {
                **self._file_object(bot, "voice", data=voice, mime_type="audio/ogg"),
                "duration": 3,
            }
        if audio is not None:
            name, mime_type, data = audio
            sent["audio"] = {
                **self._file_object(bot, "audio", data, name=name, mime_type=mime_type),
                "duration": 60,
            }
        if video_note is not None:
            sent["video_note"] = {
                **self._file_object(bot, "video_note", video_note, mime_type=None),
                "length": 240,
                "duration": 5,
            }
        return update

    def file_bytes(self, token: str, file_id: str) -> bytes | None:
        """What a file holds (None: it was sent by URL)."""
        return self._bot(token).files[file_id].data

    def sent_files(self, token: str, chat_id: int) -> list[dict[str, Any]]:
        """The files in the bot's live messages in the chat, oldest first: ``kind``, ``name``,
        ``mime_type``, ``data`` (None for a URL), ``url``, ``caption``, ``media_group_id``."""
        bot = self._bot(token)
        chat = bot.chats.get(chat_id)
        found: list[dict[str, Any]] = []
        for sent in chat.sent if chat is not None else []:
            message = sent.message
            if sent.deleted:
                continue
            for kind in ("photo", "document"):
                if kind not in message:
                    continue
                ref = message[kind][-1] if kind == "photo" else message[kind]
                stored = bot.files[ref["file_id"]]
                found.append(
                    {
                        "kind": kind,
                        "name": stored.name,
                        "mime_type": stored.mime_type,
                        "data": stored.data,
                        "url": stored.url,
                        "caption": message.get("caption"),
                        "media_group_id": message.get("media_group_id"),
                        "message_id": message["message_id"],
                    }
                )
        return found

    # -- Bot API

    async def _get_file(self, bot: BotState, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        stored = bot.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.data is not None and len(stored.data) > self.download_limit_bytes:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    async def _download(self, request: web.Request) -> web.Response:
        bot = self.bots.get(request.match_info["token"])
        path = request.match_info["path"]
        found = [f for f in bot.files.values() if f.file_path == path] if bot is not None else []
        if not found or found[0].data is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=found[0].data, content_type="application/octet-stream")

    async def _send_photo(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> dict[str, Any]:
        return self._send_file(bot, params, "photo")

    async def _send_document(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> dict[str, Any]:
        return self._send_file(bot, params, "document")

    async def _send_media_group(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> list[dict[str, Any]]:
        chat = self._target_chat(bot, params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the album: 2-10 expected")  # (invented wording)
        kinds = [item.get("type") if isinstance(item, dict) else None for item in media]
        if not any(set(kinds) <= group for group in _GROUPS):
            raise bad_request("can't use these media types together in an album")  # (invented wording)
        replied = replied_message(chat, params)
        group_id = str(int(time.time() * 1000))
        # Everything is checked before anything is sent: an album arrives whole or not at all.
        files = [
            (str(item["type"]), self._input_file(bot, params, item.get("media"), str(item["type"])), item)
            for item in media
        ]
        captions = [self._caption(item.get("caption"), item.get("parse_mode")) for _, _, item in files]
        return [
            self._deliver(bot, chat, kind, stored, caption, params, group_id, replied)
            for (kind, stored, _), caption in zip(files, captions, strict=True)
        ]

    # -- internals

    def _send_file(self, bot: BotState, params: dict[str, Any], kind: str) -> dict[str, Any]:
        chat = self._target_chat(bot, params)
        replied = replied_message(chat, params)
        stored = self._input_file(bot, params, params.get(kind), kind)
        caption = self._caption(params.get("caption"), params.get("parse_mode"))
        return self._deliver(bot, chat, kind, stored, caption, params, None, replied)

    @staticmethod
    def _caption(caption: Any, parse_mode: Any) -> tuple[str, list[dict[str, Any]]] | None:
        if caption is None or caption == "":
            return None
        text, entities = render_text(caption, parse_mode, allow_empty=True)
        if utf16_len(text) > MAX_CAPTION_UTF16:
            raise bad_request("message caption is too long")
        return text, entities

    def _input_file(self, bot: BotState, params: dict[str, Any], value: Any, kind: str) -> StoredFile:
        """An upload, ``attach://<field>``, a URL or a known file_id, as a stored file."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value[len("attach://") :])
            if not isinstance(value, dict):
                raise bad_request(f"there is no {kind} in the request")  # attach:// names a missing part
        if isinstance(value, dict) and isinstance(value.get("data"), bytes):
            data: bytes = value["data"]
            if len(data) > _UPLOAD_LIMIT.get(kind, _DEFAULT_UPLOAD_LIMIT):
                raise ApiError(413, "Request Entity Too Large")
            if not data:
                raise bad_request("file must be non-empty")
            name = str(value.get("filename") or f"file.{kind}")
            return self._store(bot, kind, data, name=name, mime_type=value.get("content_type"))
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            stored = self._store(bot, kind, None, name=value.rsplit("/", 1)[-1] or "file", mime_type=None)
            stored.url = value
            return stored
        if isinstance(value, str) and value in bot.files:
            return bot.files[value]
        if value is None or value == "":
            raise bad_request(f"there is no {kind} in the request")
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _deliver(
        self,
        bot: BotState,
        chat: ChatState,
        kind: str,
        stored: StoredFile,
        caption: tuple[str, list[dict[str, Any]]] | None,
        params: dict[str, Any],
        group_id: str | None,
        replied: dict[str, Any] | None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": chat.take_message_id(),
            "from": bot.user,
            "chat": chat.chat,
            "date": int(time.time()),
        }
        thread_id = params.get("message_thread_id")
        if isinstance(thread_id, int) and thread_id:
            message["message_thread_id"] = thread_id
        if group_id is not None:
            message["media_group_id"] = group_id
        if replied is not None:
            message["reply_to_message"] = reply_copy(replied)
        if kind == "photo":
            message["photo"] = [{**self._ref(stored), "width": 800, "height": 600}]
        else:
            message[kind] = {**self._ref(stored), "file_name": stored.name, "mime_type": stored.mime_type}
        if caption is not None:
            message["caption"] = caption[0]
            if caption[1]:
                message["caption_entities"] = caption[1]
        chat.remember(message)
        sent = SentMessage(message, "", None)
        chat.sent.append(sent)
        chat.sent_by_id[message["message_id"]] = sent
        return message

    def _store(
        self, bot: BotState, kind: str, data: bytes | None, *, name: str | None, mime_type: Any
    ) -> StoredFile:
        number = next(self._file_numbers)
        extension = f".{name.rsplit('.', 1)[-1]}" if name and "." in name else ""
        stored = StoredFile(
            file_id=f"{kind}-{bot.id}-{number}",
            file_unique_id=f"u{bot.id}n{number}",
            data=data,
            file_path=f"{_FOLDERS.get(kind, 'files')}/file_{number}{extension}",
            name=name,
            mime_type=str(mime_type) if mime_type else None,
        )
        bot.files[stored.file_id] = stored
        return stored

    @staticmethod
    def _ref(stored: StoredFile) -> dict[str, Any]:
        ref: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.size is not None:
            ref["file_size"] = stored.size
        return ref

    def _file_object(
        self, bot: BotState, kind: str, data: bytes, *, name: str | None = None, mime_type: str | None
    ) -> dict[str, Any]:
        stored = self._store(bot, kind, data, name=name, mime_type=mime_type)
        obj = self._ref(stored)
        if name is not None:
            obj["file_name"] = name
        if mime_type is not None:
            obj["mime_type"] = mime_type
        return obj

    def _photo_size(self, bot: BotState, data: bytes, index: int) -> dict[str, Any]:
        stored = self._store(bot, "photo", data, name=None, mime_type="image/jpeg")
        side = (90, 320, 800, 1280, 2560)[min(index, 4)]
        return {**self._ref(stored), "width": side, "height": side}
