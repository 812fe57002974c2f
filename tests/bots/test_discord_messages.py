"""A Discord user talks to a bot whose workflow says things as it goes: each ``message``
node's text arrives at once as a message of its own, in order, before the answer."""

from __future__ import annotations

from tests.emulators.discord.server import DiscordEmulator
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.discord import ALICE, CHANNEL, MODEL, StartDiscordBot, dm_channel, use_model
from tests.support.talking_workflows import draft_then_message, only_talk, talkative


async def test_messages_arrive_one_by_one_then_the_answer(discord_bot: StartDiscordBot) -> None:
    bot = await discord_bot(workflow="talk", workflows={"talk.json": talkative()})
    asked = bot.say(CHANNEL, "my order")
    shown = await bot.wait_bot_messages(CHANNEL, 3)
    assert [m["content"] for m in shown] == [
        "Hi Alice, on discord: looking into my order…",
        "Still here.",
        "(echo) my order",
    ]
    # The first replies to the question; the rest follow it in the channel.
    assert [m.get("message_reference") is not None for m in shown] == [True, False, False]
    assert shown[0]["message_reference"]["message_id"] == str(asked)


async def test_a_workflow_that_only_talks_sends_no_placeholder_after(discord_bot: StartDiscordBot) -> None:
    bot = await discord_bot(workflow="talk", workflows={"talk.json": only_talk()})
    bot.dm("bye")
    [said] = await bot.wait_bot_messages(dm_channel(ALICE), 1)
    assert said["content"] == "Bye, Alice (discord)"
    # Asked again: had a "…" followed the first answer, it would be there before the second.
    bot.dm("bye again")
    shown = await bot.wait_bot_messages(dm_channel(ALICE), 2)
    assert [m["content"] for m in shown] == ["Bye, Alice (discord)", "Bye, Alice (discord)"]


async def test_a_streamed_draft_is_never_left_above_the_message(
    discord_bot: StartDiscordBot, openai_emu: OpenAIEmulator
) -> None:
    bot = await discord_bot(
        use_model(openai_emu), workflow="talk", workflows={"talk.json": draft_then_message(MODEL)}
    )
    openai_emu.chunk_size = 3
    openai_emu.chunk_delay_s = 0.5  # past the quiet second: the preview shows the draft
    bot.say(CHANNEL, "plan")
    await bot.wait_bot_messages(CHANNEL, 2, wait_s=30)
    await bot.emu.wait_for(lambda: len(openai_emu.requests) == 2, 10.0)
    await bot.emu.wait_for(lambda: bot.bot_messages(CHANNEL)[-1]["content"] == "echo: final plan", 30.0)
    assert [m["content"] for m in bot.bot_messages(CHANNEL)] == [
        "noted: echo: draft plan",
        "echo: final plan",
    ]


async def test_a_slash_command_gets_the_messages_as_follow_ups_before_the_answer(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot(workflow="talk", workflows={"talk.json": talkative()})
    await bot.commands_synced()
    interaction = discord_emu.slash_command(name="ask", options={"text": "my order"}, channel_id=CHANNEL)
    interaction_id = int(interaction["id"])
    await discord_emu.wait_for(lambda: len(discord_emu.interaction_responses(interaction_id)) >= 4)
    callback, *follow_ups = discord_emu.interaction_responses(interaction_id)
    assert callback["kind"] == "callback"  # "thinking…"
    assert [(f["kind"], f["content"]) for f in follow_ups] == [
        ("followup", "Hi Alice, on discord: looking into my order…"),
        ("followup", "Still here."),
        ("followup", "(echo) my order"),
    ]
    assert [m["content"] for m in bot.bot_messages(CHANNEL)] == [f["content"] for f in follow_ups]
