"""Files a workflow sends (a message or end node's attachments), as Telegram takes them.

Pictures Telegram shows as photos (JPEG, PNG, WebP up to 10 MB) go as photos, everything else
as documents; several in a row of one kind go as albums of up to 10 (``sendMediaGroup``). The
text goes with them as the first file's caption when it fits Telegram's 1024 characters
(`caption_for`), else the caller sends it as a message first. A file over what a bot may
upload (50 MB) is not sent: the caller learns which ones, to say so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaLivePhoto,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
    ReplyParameters,
)

from bots.base import Attachment
from bots.telegram.format import Part, render_parts
from bots.telegram.send import Sender, is_bad_entities
from bots.telegram.target import Target

log = logging.getLogger("chatgate.bots.telegram")

MAX_CAPTION = 1024  # UTF-16 units, after formatting
ALBUM_MAX = 10
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


def caption_for(text: str) -> Part | None:
    """The text as one caption, when it fits in one; None: send it as a message instead."""
    parts = render_parts(text, MAX_CAPTION)
    return parts[0] if len(parts) == 1 else None


# What sendMediaGroup takes (we send photos and documents only).
_AlbumMedia = InputMediaAudio | InputMediaDocument | InputMediaLivePhoto | InputMediaPhoto | InputMediaVideo


@dataclass(frozen=True, slots=True)
class _Upload:
    kind: str  # photo | document
    name: str
    data: bytes


async def send_files(
    bot: Bot,
    sender: Sender,
    target: Target,
    files: Sequence[Attachment],
    caption: Part | None = None,
) -> list[Attachment]:
    """Send ``files`` in order, ``caption`` on the first; the files not sent (too large)."""
    uploads: list[_Upload] = []
    refused: list[Attachment] = []
    for file in files:
        if len(file.data) > MAX_UPLOAD_BYTES:
            log.info("not sending %s to chat %s: over Telegram's upload limit", file.name, target.chat_id)
            refused.append(file)
            continue
        photo = file.mime_type in PHOTO_TYPES and len(file.data) <= MAX_PHOTO_BYTES
        uploads.append(_Upload("photo" if photo else "document", file.name or "file", file.data))
    if not uploads:
        return refused
    first = True
    for batch in _batches(uploads):
        await _send_batch(bot, sender, target, batch, caption if first else None, reply=first)
        first = False
    return refused


def _batches(uploads: list[_Upload]) -> list[list[_Upload]]:
    """Runs of one kind, cut at ``ALBUM_MAX``: Telegram's albums take photos or documents."""
    batches: list[list[_Upload]] = []
    for upload in uploads:
        if batches and batches[-1][0].kind == upload.kind and len(batches[-1]) < ALBUM_MAX:
            batches[-1].append(upload)
        else:
            batches.append([upload])
    return batches


async def _send_batch(
    bot: Bot, sender: Sender, target: Target, batch: list[_Upload], caption: Part | None, *, reply: bool
) -> None:
    shown: tuple[str | None, str | None] = (None, None)
    if caption is not None:
        shown = (caption.html, ParseMode.HTML) if caption.html is not None else (caption.source, None)
    try:
        await _deliver(bot, sender, target, batch, shown, reply=reply)
    except TelegramBadRequest as e:
        if caption is None or shown[1] is None or not is_bad_entities(e):
            raise
        log.info("Telegram refused the caption's formatting in chat %s; plain text", target.chat_id)
        await _deliver(bot, sender, target, batch, (caption.source, None), reply=reply)


async def _deliver(
    bot: Bot,
    sender: Sender,
    target: Target,
    batch: list[_Upload],
    caption: tuple[str | None, str | None],
    *,
    reply: bool,
) -> None:
    text, mode = caption
    thread = target.thread_id
    replying = (
        ReplyParameters(message_id=target.reply_to, allow_sending_without_reply=True)
        if reply and target.reply_to is not None
        else None
    )

    async def call() -> Message | list[Message]:
        # (a new upload object per try: an aiohttp form is sent once)
        files = [BufferedInputFile(item.data, filename=item.name) for item in batch]
        if len(batch) == 1 and batch[0].kind == "photo":
            return await bot.send_photo(
                target.chat_id, files[0], caption=text, parse_mode=mode,
                message_thread_id=thread, reply_parameters=replying,
            )  # fmt: skip
        if len(batch) == 1:
            return await bot.send_document(
                target.chat_id, files[0], caption=text, parse_mode=mode,
                message_thread_id=thread, reply_parameters=replying,
            )  # fmt: skip
        media: list[_AlbumMedia] = [
            _album_item(item.kind, file, text if i == 0 else None, mode)
            for i, (item, file) in enumerate(zip(batch, files, strict=True))
        ]
        return await bot.send_media_group(
            target.chat_id, media, message_thread_id=thread, reply_parameters=replying
        )

    await sender.deliver(target.chat_id, not target.private, call)


def _album_item(
    kind: str, file: BufferedInputFile, caption: str | None, mode: str | None
) -> InputMediaPhoto | InputMediaDocument:
    if caption is None:
        mode = None
    if kind == "photo":
        return InputMediaPhoto(media=file, caption=caption, parse_mode=mode)
    return InputMediaDocument(media=file, caption=caption, parse_mode=mode)
