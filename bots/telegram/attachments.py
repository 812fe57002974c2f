"""The file a user sent on Telegram (photo, document, voice note, audio, video note): which
one to take, and its bytes, read only when the message is really answered.

A photo comes in several sizes: the largest whose size is known and within the limit is
taken. Telegram lets bots download at most 20 MB, whatever our own limit says.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import Message

from engine.files import size_text

TELEGRAM_DOWNLOAD_MAX = 20 * 1024 * 1024  # getFile refuses bigger files


class TooLarge(Exception):
    """The file is over the limit (ours, or Telegram's for bots)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"files may be at most {size_text(limit)} (this one is {size_text(size)})")
        self.size = size
        self.limit = limit


@dataclass(frozen=True, slots=True)
class TelegramFile:
    """A file of a message, as the router needs it: what it is, and its bytes on demand."""

    bot: Bot
    kind: str  # photo, document, voice, audio, video_note
    file_id: str
    name: str
    mime_type: str | None
    size: int | None  # as Telegram announces it (None: unknown)

    async def read(self, max_bytes: int) -> bytes:
        """The bytes, never more than ``max_bytes`` (`TooLarge` otherwise)."""
        limit = min(max_bytes, TELEGRAM_DOWNLOAD_MAX)
        if self.size is not None and self.size > limit:
            raise TooLarge(self.size, limit)
        file = await self.bot.get_file(self.file_id)
        if file.file_size is not None and file.file_size > limit:
            raise TooLarge(file.file_size, limit)
        if file.file_path is None:
            raise TooLarge(file.file_size or limit + 1, limit)  # Telegram gives no path past its limit
        sink = io.BytesIO()
        await self.bot.download_file(file.file_path, destination=sink)
        data = sink.getvalue()
        if len(data) > limit:
            raise TooLarge(len(data), limit)
        return data


def sent_file(bot: Bot, msg: Message, max_bytes: int) -> TelegramFile | None:
    """The file a message carries; None when it carries none we read (a sticker, a poll...).
    A photo whose every size is over the limit still comes back (its smallest), so the user
    hears why it was refused."""
    base = f"{msg.chat.id}-{msg.message_id}"
    if msg.photo:
        sizes = sorted(msg.photo, key=lambda p: p.file_size or 0)
        fitting = [p for p in sizes if p.file_size is not None and p.file_size <= max_bytes]
        photo = fitting[-1] if fitting else sizes[0]
        return TelegramFile(bot, "photo", photo.file_id, f"photo-{base}.jpg", "image/jpeg", photo.file_size)
    if msg.document is not None:
        d = msg.document
        name = d.file_name or f"document-{base}"
        return TelegramFile(bot, "document", d.file_id, name, d.mime_type, d.file_size)
    if msg.voice is not None:
        v = msg.voice
        return TelegramFile(
            bot, "voice", v.file_id, f"voice-{base}.ogg", v.mime_type or "audio/ogg", v.file_size
        )
    if msg.audio is not None:
        a = msg.audio
        name = a.file_name or f"audio-{base}.mp3"
        return TelegramFile(bot, "audio", a.file_id, name, a.mime_type, a.file_size)
    if msg.video_note is not None:
        n = msg.video_note
        return TelegramFile(bot, "video_note", n.file_id, f"video-note-{base}.mp4", "video/mp4", n.file_size)
    return None
