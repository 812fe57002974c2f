"""What the bot reads from Discord messages, through the real discord.py client against the
emulator: the files a user sent (every attachment, read within the limit; one over it is
never downloaded), and the label of a pressed button."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import discord.http
import pytest
import pytest_asyncio

from bots.base import Button
from bots.discord.attachments import sent_files
from bots.discord.buttons import button_view, pressed_label
from engine.errors import FileTooLarge
from tests.emulators.discord.server import DiscordEmulator

TOKEN, BOT_ID, GUILD, CHANNEL = "bot-token-123", 900, 10, 11


@pytest_asyncio.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator() as emulator:
        emulator.add_bot(TOKEN, user_id=BOT_ID)
        emulator.add_guild(GUILD, channel_ids=[CHANNEL])
        monkeypatch.setattr(discord.http.Route, "BASE", emulator.api_base)
        yield emulator


@pytest_asyncio.fixture
async def client(emu: DiscordEmulator) -> AsyncIterator[discord.Client]:
    bot = discord.Client(intents=discord.Intents.default())
    await bot.login(TOKEN)  # REST only: the message is fetched, as the gateway would bring it
    yield bot
    await bot.close()


async def fetched(client: discord.Client, payload: dict[str, object]) -> discord.Message:
    channel = await client.fetch_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    return await channel.fetch_message(int(str(payload["id"])))


async def test_every_attachment_is_taken_in_order_with_its_name_type_and_size(
    emu: DiscordEmulator, client: discord.Client
) -> None:
    sent = emu.user_message(
        channel_id=CHANNEL,
        content="two files",
        attachments=[("cat.png", b"\x89PNG-cat", "image/png"), ("notes.txt", b"hello", "text/plain")],
    )
    files = sent_files(await fetched(client, sent))
    assert [(f.kind, f.name, f.mime_type, f.size) for f in files] == [
        ("attachment", "cat.png", "image/png", 8),
        ("attachment", "notes.txt", "text/plain", 5),
    ]
    assert emu.downloads == []  # nothing is fetched until the message is answered
    assert [await f.fetch(100) for f in files] == [b"\x89PNG-cat", b"hello"]


async def test_an_attachment_over_the_limit_is_refused_before_it_is_downloaded(
    emu: DiscordEmulator, client: discord.Client
) -> None:
    sent = emu.user_message(
        channel_id=CHANNEL, content="", attachments=[("big.bin", b"x" * 2048, "application/octet-stream")]
    )
    (file,) = sent_files(await fetched(client, sent))
    with pytest.raises(FileTooLarge, match=r"files may be at most 1 KiB \(this one is 2 KiB\)"):
        await file.fetch(1024)
    assert emu.downloads == []


async def test_a_message_without_attachments_sends_no_files(
    emu: DiscordEmulator, client: discord.Client
) -> None:
    assert sent_files(await fetched(client, emu.user_message(channel_id=CHANNEL, content="just text"))) == ()


async def test_the_pressed_buttons_label_is_read_from_the_message_it_is_on(
    emu: DiscordEmulator, client: discord.Client
) -> None:
    channel = await client.fetch_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    view = button_view([Button("q:e1:00000000:0", "Small cup"), Button("q:e1:00000000:1", "Large cup")])
    question = await channel.fetch_message((await channel.send("Which size?", view=view)).id)
    assert pressed_label(question, "q:e1:00000000:1") == "Large cup"
    assert pressed_label(question, "q:e1:00000000:7") == ""
