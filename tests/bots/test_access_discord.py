"""The same access rules and admin commands on Discord: an admin's /status in a DM, and a
blocked user refused once in a server channel without reaching the model."""

from __future__ import annotations

from typing import Any

from tests.support.discord import ALICE, BOB, CHANNEL, StartDiscordBot, dm_channel


def rules(config: dict[str, Any]) -> None:
    config["admins"] = [f"discord:{ALICE}"]
    config["users"] = [{"id": f"discord:{BOB}", "blocked": True}]


async def test_an_admin_gets_status_in_a_dm_and_a_blocked_user_is_refused_once(
    discord_bot: StartDiscordBot,
) -> None:
    bot = await discord_bot(configure=rules)
    asked = bot.dm("/status")
    status = await bot.answer_to(dm_channel(ALICE), asked)
    assert "Config version 1" in status
    assert "- dc-test: discord" in status

    bot.say(CHANNEL, "let me in", user_id=BOB)
    bot.say(CHANNEL, "please", user_id=BOB)
    hello = bot.say(CHANNEL, "hello", user_id=ALICE)
    assert await bot.answer_to(CHANNEL, hello) == "(echo) hello"
    said = [m["content"] for m in bot.bot_messages(CHANNEL)]
    assert said == ["Sorry, you can't use this bot.", "(echo) hello"]


async def test_status_from_someone_else_is_an_ordinary_message(discord_bot: StartDiscordBot) -> None:
    bot = await discord_bot(configure=rules)
    asked = bot.dm("/status", user_id=BOB + 1)
    assert await bot.answer_to(dm_channel(BOB + 1), asked) == "(echo) /status"


async def test_a_blocked_user_asking_by_slash_command_is_refused_every_time_never_told_to_slow_down(
    discord_bot: StartDiscordBot,
) -> None:
    bot = await discord_bot(configure=rules)
    await bot.commands_synced()
    replies = []
    for question in ("let me in", "please"):
        interaction = bot.emu.slash_command(
            name="ask", options={"text": question}, channel_id=CHANNEL, user_id=BOB
        )
        interaction_id = int(interaction["id"])
        await bot.emu.wait_for(lambda i=interaction_id: len(bot.emu.interaction_responses(i)) >= 1)
        [reply] = bot.emu.interaction_responses(interaction_id)
        assert reply["ephemeral"]
        replies.append(reply["content"])
    assert replies == ["Sorry, you can't use this bot."] * 2
    assert bot.bot_messages(CHANNEL) == []  # nothing in the channel, no model answer
