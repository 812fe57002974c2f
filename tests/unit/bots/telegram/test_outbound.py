"""Files a workflow sends reach a Telegram chat as Telegram shows them best: pictures as photos,
the rest as documents, several as albums, the text as a caption when it fits. Through the real
aiogram Bot against the Bot API emulator, the files read from a real file store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bots.delivery.pacing import Pacer
from bots.telegram.outbound import caption_for, send_files
from bots.telegram.responder import Target
from bots.telegram.send import Sender
from config.files import FilesSettings
from engine.files import FileRef
from engine.files.store import FileStore
from engine.store.writer import Storage
from tests.emulators.telegram.server import TelegramEmulator

TOKEN = "123456:TEST-token"
CHAT = 1001
PRIVATE = Target(chat_id=CHAT, private=True)


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator() as emulator:
        emulator.add_bot(TOKEN)
        yield emulator


@pytest_asyncio.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    client = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
    yield client
    await client.session.close()


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[FileStore]:
    storage = Storage(f"sqlite:///{tmp_path / 'files.db'}")
    await storage.open()
    try:
        yield await FileStore(storage, FilesSettings()).open()
    finally:
        await storage.close()


async def keep(store: FileStore, name: str, mime_type: str, data: bytes) -> FileRef:
    return await store.put(data, name=name, mime_type=mime_type, session_id=None, owner="bot:tg")


def shown(emu: TelegramEmulator, chat: int = CHAT) -> list[tuple[str, str, bytes | None, str | None]]:
    return [(f["kind"], f["name"], f["data"], f["caption"]) for f in emu.sent_files(TOKEN, chat)]


async def test_a_picture_goes_as_a_photo_with_the_text_as_its_caption(
    emu: TelegramEmulator, bot: Bot, store: FileStore
) -> None:
    chart = await keep(store, "chart.png", "image/png", b"\x89PNG chart")
    refused = await send_files(bot, Sender(Pacer()), PRIVATE, [chart], store, caption_for("**Sales** in Q3"))
    assert refused == []
    assert shown(emu) == [("photo", "chart.png", b"\x89PNG chart", "Sales in Q3")]
    [message] = emu.chat_messages(TOKEN, CHAT)
    assert message["caption_entities"][0]["type"] == "bold"


async def test_several_files_go_as_albums_of_one_kind(
    emu: TelegramEmulator, bot: Bot, store: FileStore
) -> None:
    files = [
        await keep(store, "a.jpg", "image/jpeg", b"a"),
        await keep(store, "b.jpg", "image/jpeg", b"b"),
        await keep(store, "report.pdf", "application/pdf", b"%PDF"),
        await keep(store, "data.csv", "text/csv", b"x,y"),
        await keep(store, "c.gif", "image/gif", b"GIF89a"),  # not a photo to Telegram
    ]
    await send_files(bot, Sender(Pacer()), PRIVATE, files, store, caption_for("Here you go"))
    sent = emu.sent_files(TOKEN, CHAT)
    assert [(f["kind"], f["name"], f["caption"]) for f in sent] == [
        ("photo", "a.jpg", "Here you go"),
        ("photo", "b.jpg", None),
        ("document", "report.pdf", None),
        ("document", "data.csv", None),
        ("document", "c.gif", None),
    ]
    albums = [f["media_group_id"] for f in sent]
    assert albums[0] is not None
    assert albums[0] == albums[1]
    assert albums[2] is not None
    assert albums[2] == albums[3] == albums[4]
    assert albums[2] != albums[0]


async def test_more_than_ten_files_make_several_albums(
    emu: TelegramEmulator, bot: Bot, store: FileStore
) -> None:
    files = [await keep(store, f"{i}.jpg", "image/jpeg", bytes([i])) for i in range(12)]
    await send_files(bot, Sender(Pacer()), PRIVATE, files, store)
    calls = emu.calls_to("sendMediaGroup")
    assert [len(call.params["media"]) for call in calls] == [10, 2]
    assert [f["name"] for f in emu.sent_files(TOKEN, CHAT)] == [f"{i}.jpg" for i in range(12)]


async def test_a_long_text_is_no_caption_and_groups_get_the_files_as_a_reply(
    emu: TelegramEmulator, bot: Bot, store: FileStore
) -> None:
    assert caption_for("word " * 300) is None  # over 1024: the caller sends it as a message
    question = emu.push_message(TOKEN, chat_id=-100700, chat_type="supergroup", text="@chatgate_bot chart?")
    group = Target(chat_id=-100700, private=False, reply_to=question["message"]["message_id"])
    chart = await keep(store, "chart.png", "image/png", b"\x89PNG")
    await send_files(bot, Sender(Pacer()), group, [chart], store)
    [message] = emu.chat_messages(TOKEN, -100700)
    assert message["reply_to_message"]["message_id"] == question["message"]["message_id"]
    assert "caption" not in message
