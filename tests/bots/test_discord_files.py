"""Files a workflow sends reach Discord as attachments: a message node's with its text, the
answer's with the answer, each with the bytes the workflow gave."""

from __future__ import annotations

import base64
from typing import Any

from tests.emulators.discord.server import DiscordEmulator
from tests.support.discord import CHANNEL, StartDiscordBot

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
