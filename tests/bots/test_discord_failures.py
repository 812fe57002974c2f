"""When things go wrong: the model fails, a user sends too fast, or the bot lacks the
message content intent. Users get short human messages; admins get clear logs."""

from __future__ import annotations

import re
from typing import Any

from bots.messages import chat_message
from engine.errors import ExecutionFailed
from tests.emulators.discord.server import DiscordEmulator
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.discord import CHANNEL, StartDiscordBot, discord_bot_config, use_model

MESSAGE_CONTENT = 1 << 15  # gateway intent bit


async def test_a_failing_model_gets_a_short_apology_and_a_log_line_with_the_execution(
    discord_bot: StartDiscordBot, openai_emu: OpenAIEmulator
) -> None:
    bot = await discord_bot(configure=use_model(openai_emu))
    openai_emu.fail_next(500)
    asked = bot.say(CHANNEL, "will this work?")
    apology = await bot.answer_to(CHANNEL, asked)
    assert apology == chat_message(ExecutionFailed("x"))
    assert "Traceback" not in apology
    assert "500" not in apology
    assert bot.log_lines(r"could not answer discord:dc-test:501 \(execution exec_\w+\)")

    retry = bot.say(CHANNEL, "and now?")  # the next message is answered normally
    assert await bot.answer_to(CHANNEL, retry) == "echo: and now?"


async def test_a_user_over_the_rate_limit_is_told_once_and_the_model_is_not_called(
    discord_bot: StartDiscordBot, openai_emu: OpenAIEmulator
) -> None:
    def two_per_minute(config: dict[str, Any]) -> None:
        use_model(openai_emu)(config)
        config["rate_limits"]["free"] = "2/minute"

    bot = await discord_bot(configure=two_per_minute)
    asked = [bot.say(CHANNEL, f"question {i}") for i in range(4)]
    last = bot.say(CHANNEL, "from bob", user_id=1002)  # another user has their own limit
    await bot.answer_to(CHANNEL, last)  # messages of the channel are handled in order
    replies = [[m["content"] for m in bot.replies_to(CHANNEL, a)] for a in asked]
    assert replies[:2] == [["echo: question 0"], ["echo: question 1"]]
    [[notice]] = replies[2:3]
    assert re.fullmatch(r"You're sending messages too fast\. Please wait \d+ s and try again\.", notice)
    assert replies[3] == []  # told once per window, not once per message
    assert len(openai_emu.requests) == 3  # two for alice, one for bob


async def test_without_the_message_content_intent_the_admin_is_told_how_to_fix_it_and_mentions_still_work(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    discord_emu.grant_message_content = False
    bot = await discord_bot()
    await bot.emu.wait_for(lambda: bool(bot.log_lines("Message Content intent is not enabled")))
    [warning] = bot.log_lines("Message Content intent is not enabled")
    assert "WARNING" in warning
    assert "Privileged Gateway Intents" in warning

    bot.say(CHANNEL, "chatter the bot cannot read", mention=False)
    asked = bot.say(CHANNEL, "can you read this?")
    assert await bot.answer_to(CHANNEL, asked) == "(echo) can you read this?"
    assert len(bot.bot_messages(CHANNEL)) == 1
    interaction = discord_emu.slash_command(name="ask", options={"text": "and this?"}, channel_id=CHANNEL)
    await bot.emu.wait_for(lambda: len(discord_emu.interaction_responses(int(interaction["id"]))) == 2)
    assert discord_emu.interaction_responses(int(interaction["id"]))[1]["content"] == "(echo) and this?"
    assert (await bot.health())["message_content_intent"] is False


async def test_when_discord_refuses_the_content_intent_the_bot_connects_without_it(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    """Discord closes the connection (4014) when the intent is off in the developer portal."""
    discord_emu.grant_message_content = False
    discord_emu.refuse_ungranted_intents = True
    bot = await discord_bot()
    await discord_emu.wait_for(lambda: discord_emu.active_connections == 1, 10.0)
    asked_for = [bool(p["intents"] & MESSAGE_CONTENT) for p in discord_emu.identify_payloads]
    assert asked_for == [True, False]
    [warning] = bot.log_lines("refused the Message Content intent")
    assert "Privileged Gateway Intents" in warning

    asked = bot.say(CHANNEL, "hello?")
    assert await bot.answer_to(CHANNEL, asked) == "(echo) hello?"
    health = await bot.health()
    assert health["restarts"] == 0
    assert health["message_content_intent"] is False


async def test_a_second_bot_on_another_api_base_is_refused_and_the_first_keeps_working(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    """discord.py keeps the API address process-wide: one chatgate, one api_base for Discord."""

    def elsewhere(config: dict[str, Any]) -> None:
        other = discord_bot_config(discord_emu, name="dc-elsewhere", token="OTAx.other.token-0123456789")
        config["bots"].append({**other, "api_base": "http://127.0.0.1:9/api/v10"})

    bot = await discord_bot(configure=elsewhere)
    async with bot.gw.client() as http:
        await discord_emu.wait_for(lambda: bool(bot.log_lines("dc-elsewhere wants api_base")))
        async with http.get("/healthz") as r:
            refused = (await r.json())["bots"]["dc-elsewhere"]
    assert refused["connected"] is False
    assert "process-wide" in (refused["last_crash"] or "")
    asked = bot.say(CHANNEL, "still fine?")
    assert await bot.answer_to(CHANNEL, asked) == "(echo) still fine?"
