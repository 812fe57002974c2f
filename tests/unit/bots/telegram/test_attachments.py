"""The file a Telegram user sent: the right one is taken, and read within the limit, through
the real aiogram Bot against the Bot API emulator."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.types import Message, Update

from bots.telegram.attachments import TelegramFile, sent_media
from engine.errors import FileTooLarge, Unavailable
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.telegram import TOKEN

CHAT = 1001


def message(update: dict[str, object], bot: Bot) -> Message:
    msg = Update.model_validate(update, context={"bot": bot}).message
    assert msg is not None
    return msg


def sent_file(bot: Bot, msg: Message) -> TelegramFile | None:
    media = sent_media(msg)
    return None if media is None else TelegramFile(bot, media)


async def test_the_largest_photo_size_within_the_limit_is_read(emu: TelegramEmulator, bot: Bot) -> None:
    update = emu.push_file_message(TOKEN, chat_id=CHAT, photo=[b"s" * 10, b"m" * 100, b"l" * 1000])
    file = sent_file(bot, message(update, bot))
    assert file is not None
    assert (file.media.kind, file.mime_type) == ("photo", "image/jpeg")
    assert await file.read(500) == b"m" * 100
    assert await file.read(5000) == b"l" * 1000


async def test_a_document_keeps_its_name_and_type(emu: TelegramEmulator, bot: Bot) -> None:
    update = emu.push_file_message(TOKEN, chat_id=CHAT, document=("q3.pdf", "application/pdf", b"%PDF-1.7"))
    file = sent_file(bot, message(update, bot))
    assert file is not None
    assert (file.media.kind, file.name, file.mime_type) == ("document", "q3.pdf", "application/pdf")
    assert await file.read(1000) == b"%PDF-1.7"


@pytest.mark.parametrize(
    ("kind", "mime_type"), [("voice", "audio/ogg"), ("video_note", "video/mp4"), ("audio", "audio/mpeg")]
)
async def test_voice_notes_audio_and_video_notes_are_files_too(
    emu: TelegramEmulator, bot: Bot, kind: str, mime_type: str
) -> None:
    media: dict[str, object] = {kind: ("song.mp3", "audio/mpeg", b"ID3") if kind == "audio" else b"bytes"}
    update = emu.push_file_message(TOKEN, chat_id=CHAT, **media)
    file = sent_file(bot, message(update, bot))
    assert file is not None
    assert (file.media.kind, file.mime_type) == (kind, mime_type)
    assert await file.read(1000) in (b"bytes", b"ID3")


async def test_a_file_over_the_limit_is_refused_before_it_is_downloaded(
    emu: TelegramEmulator, bot: Bot
) -> None:
    update = emu.push_file_message(TOKEN, chat_id=CHAT, document=("big.zip", "application/zip", b"z" * 2048))
    file = sent_file(bot, message(update, bot))
    assert file is not None
    with pytest.raises(FileTooLarge, match=r"at most 1 KiB \(this one is 2 KiB\)"):
        await file.read(1024)
    assert emu.calls_to("getFile") == []


async def test_a_photo_too_large_in_every_size_is_refused_with_its_smallest_size(
    emu: TelegramEmulator, bot: Bot
) -> None:
    update = emu.push_file_message(TOKEN, chat_id=CHAT, photo=[b"s" * 600, b"l" * 900])
    file = sent_file(bot, message(update, bot))
    assert file is not None
    with pytest.raises(FileTooLarge, match=r"at most 500 bytes \(this one is 600 bytes\)"):
        await file.read(500)


async def test_a_message_without_a_file_has_none(emu: TelegramEmulator, bot: Bot) -> None:
    sticker = emu.push_message(TOKEN, chat_id=CHAT, sticker=True)
    assert sent_file(bot, message(sticker, bot)) is None
    text = emu.push_message(TOKEN, chat_id=CHAT, text="hi")
    assert sent_file(bot, message(text, bot)) is None


async def test_a_file_telegram_no_longer_hands_out_is_told_as_unavailable(
    emu: TelegramEmulator, bot: Bot
) -> None:
    update = emu.push_message(TOKEN, chat_id=CHAT, photo=True)
    file = sent_file(bot, message(update, bot))
    assert file is not None
    assert len(await file.read(100_000)) == 800 * 40  # (the emulator's photo: its largest size)
    emu.bots[TOKEN].files.clear()  # e.g. a file_id from before a bot token change
    with pytest.raises(Unavailable, match="invalid file_id"):
        await file.read(100_000)
    emu.set_down(True)
    with pytest.raises(Unavailable, match="could not download"):
        await file.read(100_000)
