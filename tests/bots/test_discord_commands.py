"""Slash commands: /ask, /reset and /help, registered with Discord when the bot starts."""

from __future__ import annotations

from typing import Any

from bots.messages import RESET_DONE
from tests.emulators.discord.server import DiscordEmulator
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.discord import BOT_ID, CHANNEL, GUILD, DiscordBot, StartDiscordBot, use_model, user_turns

DEFERRED = 5  # interaction callback type: "thinking…", answer follows


async def _responses(bot: DiscordBot, interaction: dict[str, Any], count: int) -> list[dict[str, Any]]:
    interaction_id = int(interaction["id"])
    await bot.emu.wait_for(lambda: len(bot.emu.interaction_responses(interaction_id)) >= count)
    return bot.emu.interaction_responses(interaction_id)


async def test_the_commands_are_registered_globally_at_startup(discord_bot: StartDiscordBot) -> None:
    bot = await discord_bot()
    commands = {c["name"]: c for c in await bot.commands_synced()}
    assert sorted(commands) == ["ask", "help", "reset"]
    [text] = commands["ask"]["options"]
    assert text["name"] == "text"
    assert text["required"] is True


async def test_with_command_guilds_the_commands_are_registered_in_those_guilds_only(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot(command_guilds=[GUILD])
    assert sorted(c["name"] for c in await bot.commands_synced(GUILD)) == ["ask", "help", "reset"]
    assert discord_emu.commands(BOT_ID) == []


async def test_ask_thinks_then_answers_in_the_channel(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot()
    await bot.commands_synced()
    question = {"text": "what is chatgate?"}
    interaction = discord_emu.slash_command(name="ask", options=question, channel_id=CHANNEL)
    callback, answer = await _responses(bot, interaction, 2)
    assert callback["kind"] == "callback"
    assert callback["type"] == DEFERRED
    assert not callback["ephemeral"]
    assert answer["kind"] == "followup"
    assert answer["content"] == "(echo) what is chatgate?"
    [shown] = bot.bot_messages(CHANNEL)  # the follow-up replaced the "thinking…" message
    assert shown["content"] == "(echo) what is chatgate?"


async def test_reset_forgets_the_conversation_and_confirms_privately(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator, openai_emu: OpenAIEmulator
) -> None:
    bot = await discord_bot(configure=use_model(openai_emu))
    await bot.commands_synced()
    await bot.answer_to(CHANNEL, bot.say(CHANNEL, "my name is Alice"))
    interaction = discord_emu.slash_command(name="reset", channel_id=CHANNEL)
    responses = await _responses(bot, interaction, 2)
    assert all(r["ephemeral"] for r in responses)
    assert responses[-1]["content"] == RESET_DONE
    await bot.answer_to(CHANNEL, bot.say(CHANNEL, "what is my name?"))
    assert user_turns(openai_emu.requests[-1]) == ["what is my name?"]  # the earlier turn is gone


async def test_help_explains_how_to_talk_to_the_bot_privately(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot()
    await bot.commands_synced()
    interaction = discord_emu.slash_command(name="help", channel_id=CHANNEL)
    [reply] = await _responses(bot, interaction, 1)
    assert reply["ephemeral"] is True
    assert "/ask" in reply["content"]
    assert "/reset" in reply["content"]
    assert "mention me" in reply["content"]
    assert bot.bot_messages(CHANNEL) == []  # nothing in the channel for everyone


async def test_ask_over_the_rate_limit_gets_a_private_notice_and_the_model_is_not_called(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator, openai_emu: OpenAIEmulator
) -> None:
    def two_per_minute(config: dict[str, Any]) -> None:
        use_model(openai_emu)(config)
        config["rate_limits"]["free"] = "2/minute"

    bot = await discord_bot(configure=two_per_minute)
    await bot.commands_synced()
    asks = [
        discord_emu.slash_command(name="ask", options={"text": f"q{i}"}, channel_id=CHANNEL) for i in range(4)
    ]
    # discord.py handles each command in its own task: which two come first is not fixed.
    first = [(await _responses(bot, ask, 1))[0] for ask in asks]
    answered = [ask for ask, r in zip(asks, first, strict=True) if r["type"] == DEFERRED]
    notices = [r for r in first if r["type"] != DEFERRED]
    assert len(answered) == 2
    assert len(notices) == 2
    for ask in answered:
        answer = (await _responses(bot, ask, 2))[1]
        assert answer["content"] == "echo: " + ask["data"]["options"][0]["value"]
    assert all(n["ephemeral"] and "too fast" in n["content"] for n in notices)
    assert any("Please wait" in n["content"] for n in notices)  # the first notice says how long
    assert len(openai_emu.requests) == 2
