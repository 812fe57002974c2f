"""Outages and restarts: nothing asked is lost, nothing is answered twice, one bot's
crash leaves the others alone, and the token never reaches the logs."""

from __future__ import annotations

from typing import Any

from tests.emulators.discord.server import DiscordEmulator
from tests.support.discord import (
    ALICE,
    CHANNEL,
    OTHER_CHANNEL,
    TOKEN,
    StartDiscordBot,
    discord_bot_config,
    dm_channel,
)


async def test_messages_sent_while_the_gateway_is_down_are_answered_once_after_resume(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot()
    before = bot.say(CHANNEL, "before the outage")
    await bot.answer_to(CHANNEL, before)
    async with discord_emu.outage(4000):
        during = [bot.say(CHANNEL, f"during the outage {i}") for i in range(3)]
        during.append(bot.dm("a DM during the outage"))
    channels = [CHANNEL, CHANNEL, CHANNEL, dm_channel(ALICE)]
    for channel, asked in zip(channels, during, strict=True):
        await bot.answer_to(channel, asked)
    assert len(discord_emu.resume_payloads) == 1
    assert len(discord_emu.identify_payloads) == 1
    after = bot.say(CHANNEL, "after the outage")
    await bot.answer_to(CHANNEL, after)
    for channel, asked in zip([CHANNEL, *channels, CHANNEL], [before, *during, after], strict=True):
        assert len(bot.replies_to(channel, asked)) == 1
    assert (await bot.health())["resumes"] == 1


async def test_a_reconnect_request_resumes_without_losing_a_message(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot()
    await discord_emu.send_reconnect()
    asked = bot.say(CHANNEL, "still there?")
    await bot.answer_to(CHANNEL, asked)
    await discord_emu.wait_for(lambda: len(discord_emu.resume_payloads) == 1)
    assert len(bot.replies_to(CHANNEL, asked)) == 1
    assert len(discord_emu.identify_payloads) == 1  # resumed, not a new session


async def test_a_message_delivered_again_is_not_answered_twice_even_after_a_restart(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot()
    asked = bot.say(CHANNEL, "answer me once")
    await bot.answer_to(CHANNEL, asked)
    bot.say(CHANNEL, "answer me once", message_id=asked)  # the same message, delivered again

    identified = len(discord_emu.identify_payloads)
    await bot.gw.restart()
    await discord_emu.wait_for(
        lambda: len(discord_emu.identify_payloads) > identified and discord_emu.active_connections == 1, 15.0
    )
    bot.say(CHANNEL, "answer me once", message_id=asked)  # and again, to the new process
    fresh = bot.say(CHANNEL, "a new question")
    await bot.answer_to(CHANNEL, fresh)  # handled in order: the repeats came first
    assert len(bot.replies_to(CHANNEL, asked)) == 1


async def test_a_crashed_bot_is_restarted_and_the_other_bot_keeps_running(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    other_token = "OTAx.second-bot.token-0123456789"
    discord_emu.add_bot(other_token, user_id=901, username="second")

    def second_bot(config: dict[str, Any]) -> None:
        config["bots"].append(discord_bot_config(discord_emu, name="dc-second", token=other_token))

    bot = await discord_bot(configure=second_bot)
    await discord_emu.wait_for(lambda: discord_emu.active_connections == 2)

    # Discord ends the first bot's session for good (4004: authentication failed):
    # discord.py gives up, the adapter crashes, the supervisor starts it again.
    await discord_emu.disconnect(4004, token=TOKEN)
    await discord_emu.wait_for(
        lambda: (
            sum(p["token"] == TOKEN for p in discord_emu.identify_payloads) == 2
            and discord_emu.active_connections == 2
        ),
        15.0,
    )
    asked = bot.say(OTHER_CHANNEL, "are you back?")
    assert await bot.answer_to(OTHER_CHANNEL, asked) == "(echo) are you back?"

    health = await bot.health()
    assert health["restarts"] == 1
    assert "4004" in (health["last_crash"] or "")
    async with bot.gw.client() as http, http.get("/healthz") as r:
        second = (await r.json())["bots"]["dc-second"]
    assert second["restarts"] == 0
    assert second["connected"] is True
    assert second["disconnects"] == 0
    assert sum(p["token"] == other_token for p in discord_emu.identify_payloads) == 1
    assert TOKEN not in bot.gw.logs()
    assert other_token not in bot.gw.logs()
