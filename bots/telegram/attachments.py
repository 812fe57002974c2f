"""The file a user sent on Telegram (photo, document, voice note, audio, video note): what it
is (`sent_media`, from the message alone), and its bytes (`TelegramFile.read`), read only when
the message is really answered.

A photo comes in several sizes: the largest whose size is known and within the limit is
read. Telegram lets bots download at most 20 MB, whatever our own limit says.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import aiohttp
from aiogram import Bot
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramBadRequest
from aiogram.types import Message

from bots.files import Received
from engine.errors import Unavailable
from engine.files.store import too_large

TELEGRAM_DOWNLOAD_MAX = 20 * 1024 * 1024  # getFile refuses bigger files


@dataclass(frozen=True, slots=True)
class SentMedia:
    """The file a message carries."""

    kind: str  # photo, document, voice, audio, video_note
    name: str
    mime_type: str | None
    choices: tuple[tuple[str, int | None], ...]  # (file_id, size as announced), smallest first


def sent_media(msg: Message) -> SentMedia | None:
    """The file of a message; None when it carries none we read (a sticker, a poll...)."""
    base = f"{msg.chat.id}-{msg.message_id}"
    if msg.photo:
        sizes = sorted(((p.file_id, p.file_size) for p in msg.photo), key=lambda c: c[1] or 0)
        return SentMedia("photo", f"photo-{base}.jpg", "image/jpeg", tuple(sizes))
    if msg.document is not None:
        d = msg.document
        return SentMedia(
            "document", d.file_name or f"document-{base}", d.mime_type, ((d.file_id, d.file_size),)
        )
    if msg.voice is not None:
        v = msg.voice
        return SentMedia(
            "voice", f"voice-{base}.ogg", v.mime_type or "audio/ogg", ((v.file_id, v.file_size),)
        )
    if msg.audio is not None:
        a = msg.audio
        return SentMedia(
            "audio", a.file_name or f"audio-{base}.mp3", a.mime_type, ((a.file_id, a.file_size),)
        )
    if msg.video_note is not None:
        n = msg.video_note
        return SentMedia("video_note", f"video-note-{base}.mp4", "video/mp4", ((n.file_id, n.file_size),))
    return None


@dataclass(frozen=True, slots=True)
class TelegramFile:
    """A sent file as the router takes it: its name and type, its bytes on demand."""

    bot: Bot
    media: SentMedia

    @property
    def name(self) -> str:
        return self.media.name

    @property
    def mime_type(self) -> str | None:
        return self.media.mime_type

    def received(self) -> Received:
        """As the router takes it (bots.files): the size is the smallest a photo comes in, so
        a photo is refused only when no size of it fits."""
        sizes = [size for _, size in self.media.choices]
        size = None if None in sizes else min(s for s in sizes if s is not None)
        return Received(self.media.kind, self.name, self.mime_type, size, self.read)

    async def read(self, max_bytes: int) -> bytes:
        """The bytes, never more than ``max_bytes`` (else `FileTooLarge`, before any download
        when Telegram announced the size); `Unavailable` when Telegram does not hand them out."""
        limit = min(max_bytes, TELEGRAM_DOWNLOAD_MAX)
        fitting = [c for c in self.media.choices if c[1] is None or c[1] <= limit]
        if not fitting:
            raise too_large(limit, min(size or 0 for _, size in self.media.choices))
        try:
            data = await self._download(fitting[-1][0], limit)
        except TelegramBadRequest as e:
            if "too big" in e.message:
                raise too_large(limit) from None
            raise Unavailable(f"Telegram would not hand out the file: {e.message}") from None
        except (TelegramAPIError, ClientDecodeError, aiohttp.ClientError, OSError, TimeoutError) as e:
            raise Unavailable(f"could not download the file from Telegram ({type(e).__name__})") from None
        if len(data) > limit:
            raise too_large(limit, len(data))
        return data

    async def _download(self, file_id: str, limit: int) -> bytes:
        file = await self.bot.get_file(file_id)
        if file.file_size is not None and file.file_size > limit:
            raise too_large(limit, file.file_size)
        if file.file_path is None:  # Telegram gives no path for a file past its limit
            raise too_large(limit)
        sink = io.BytesIO()
        await self.bot.download_file(file.file_path, destination=sink)
        return sink.getvalue()
