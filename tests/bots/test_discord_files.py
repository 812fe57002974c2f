"""Files on Discord: what a user attaches fills the workflow's file input (refused in one short
sentence when the workflow takes no files, not that kind, or one too large, which is then never
downloaded); files a workflow sends arrive as attachments, a message node's with its text and
the answer's with the answer."""

from __future__ import annotations

import base64
from typing import Any

from tests.emulators.discord.server import DiscordEmulator
from tests.emulators.openai_server import OpenAIEmulator
from tests.support import media
from tests.support.discord import CHANNEL, DiscordBot, StartDiscordBot, use_model

CSV = b"id,qty\nA-17,2\n"
PNG = b"\x89PNG\r\n\x1a\n-a-cat"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def sends_files() -> dict[str, Any]:
    return {
        "name": "sends_files",
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}},
            {"id": "order", "type": "message", "config": {
                "content": "Your order, {{inputs.user_input}}:",
                "attachments": [{"data": b64(CSV), "name": "order.csv", "mime_type": "text/csv"}],
            }},
            {"id": "end", "type": "end", "config": {
                "content": "and a cat.",
                "attachments": [{"data": b64(PNG), "name": "cat.png", "mime_type": "image/png"}],
            }},
        ],
        "connections": [{"from": "start", "to": "order"}, {"from": "order", "to": "end"}],
    }  # fmt: skip


async def test_a_workflows_files_arrive_as_attachments_with_their_texts(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot(workflow="sends_files", workflows={"sends_files.json": sends_files()})
    asked = bot.say(CHANNEL, "Ann")
    order, cat = await bot.wait_bot_messages(CHANNEL, 2)
    assert (order["content"], cat["content"]) == ("Your order, Ann:", "and a cat.")
    assert order["message_reference"]["message_id"] == str(asked)  # the first part replies
    assert [(a["filename"], a["content_type"]) for a in order["attachments"]] == [("order.csv", "text/csv")]
    assert discord_emu.attachment_bytes(order["attachments"][0]["id"]) == CSV
    assert [a["filename"] for a in cat["attachments"]] == ["cat.png"]
    assert discord_emu.attachment_bytes(cat["attachments"][0]["id"]) == PNG
    assert len(bot.bot_messages(CHANNEL)) == 2  # no "…" or text-only copy after the files


async def test_files_after_a_slash_command_arrive_as_follow_ups(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot(workflow="sends_files", workflows={"sends_files.json": sends_files()})
    discord_emu.slash_command(name="ask", options={"text": "Bo"}, channel_id=CHANNEL)
    order, cat = await bot.wait_bot_messages(CHANNEL, 2)
    assert order["content"] == "Your order, Bo:"
    assert [a["filename"] for a in order["attachments"]] == ["order.csv"]
    assert discord_emu.attachment_bytes(cat["attachments"][0]["id"]) == PNG


def reads_a_photo(accept: list[str] | None = None) -> dict[str, Any]:
    photo: dict[str, Any] = {"name": "photo", "type": "file", "required": False}
    if accept:
        photo["accept"] = accept
    return {
        "name": "reads_a_photo",
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}, photo]}},
            {"id": "end", "type": "end", "config": {
                "content": "{{inputs.photo.name}} ({{inputs.photo.mime_type}}, {{inputs.photo.size}} bytes): "
                           "{{inputs.user_input}}",
            }},
        ],
        "connections": [{"from": "start", "to": "end"}],
    }  # fmt: skip


async def start_reader(
    discord_bot: StartDiscordBot, workflow: dict[str, Any], *, max_bytes: int | None = None
) -> DiscordBot:
    def limits(config: dict[str, Any]) -> None:
        if max_bytes is not None:
            config["files"] = {"max_bytes": max_bytes}

    name = workflow["name"]
    return await discord_bot(workflow=name, workflows={f"{name}.json": workflow}, configure=limits)


def attach(bot: DiscordBot, text: str, *files: tuple[str, bytes, str]) -> int:
    sent = bot.emu.user_message(
        channel_id=CHANNEL, content=text, username="alice", mention_bot=True, attachments=list(files)
    )
    return int(sent["id"])


async def test_an_attached_photo_fills_the_workflows_file_input_with_the_text_beside_it(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await start_reader(discord_bot, reads_a_photo())
    asked = attach(bot, "what is this?", ("cat.png", PNG, "image/png"))
    assert await bot.answer_to(CHANNEL, asked) == f"cat.png (image/png, {len(PNG)} bytes): what is this?"
    alone = attach(bot, "", ("cat.png", PNG, "image/png"))  # no text at all: still answered
    assert await bot.answer_to(CHANNEL, alone) == f"cat.png (image/png, {len(PNG)} bytes): "
    assert len(discord_emu.downloads) == 2


async def test_files_the_workflow_cannot_take_are_refused_in_one_sentence(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await start_reader(discord_bot, reads_a_photo(accept=["image/*"]), max_bytes=1024)
    pdf = attach(bot, "my invoice", ("invoice.pdf", b"%PDF-1.7", "application/pdf"))
    assert await bot.answer_to(CHANNEL, pdf) == "I can only read photos up to 1 KiB."
    big = attach(bot, "", ("huge.png", b"x" * 2048, "image/png"))
    assert await bot.answer_to(CHANNEL, big) == "That file is too big: I can read files up to 1 KiB."
    assert discord_emu.downloads == []  # refused from what Discord said of them, before any download


async def test_a_file_to_a_bot_whose_workflow_takes_none_is_told_so(discord_bot: StartDiscordBot) -> None:
    bot = await discord_bot()  # the seed workflow: text only
    asked = attach(bot, "", ("cat.png", PNG, "image/png"))
    assert (
        await bot.answer_to(CHANNEL, asked)
        == "I can only read text messages for now – please type your question."
    )


async def test_a_voice_message_is_transcribed_into_the_text_input(
    discord_bot: StartDiscordBot, openai_emu: OpenAIEmulator
) -> None:
    doc = {
        "name": "heard",
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": [
                {"name": "user_input"}, {"name": "note", "type": "file", "required": False},
            ]}},
            {"id": "end", "type": "end", "config": {
                "content": "{{inputs.user_input}} (spoken: {{sys.transcribed}})",
            }},
        ],
        "connections": [{"from": "start", "to": "end"}],
    }  # fmt: skip
    note = media.voice_note(3)
    openai_emu.transcripts[note] = "Where is my order?"
    bot = await discord_bot(
        workflow="heard",
        workflows={"heard.json": doc},
        configure=use_model(openai_emu),
        voice={"transcribe": True},
    )
    asked = attach(bot, "", ("voice-message.ogg", note, "audio/ogg"))  # as Discord's voice messages come
    assert await bot.answer_to(CHANNEL, asked) == "Where is my order? (spoken: true)"
