"""A Discord bot asks a question (the workflow waits) with its options as buttons: the asker
answers by typing the next message or by pressing a button, the same execution goes on.
Someone else's press, or a press on a question no longer waiting, gets a note only the
presser sees; the buttons keep working after chatgate restarts."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.bots.test_telegram_questions import coffee
from tests.emulators.discord.server import DiscordEmulator
from tests.support.discord import (
    ALICE,
    BOB,
    CHANNEL,
    OTHER_CHANNEL,
    DiscordBot,
    StartDiscordBot,
    dm_channel,
    labels,
)

SIZES = ["Small cup", "Large cup"]


async def start_coffee(
    discord_bot: StartDiscordBot, workflow: dict[str, Any] | None = None, **settings: Any
) -> DiscordBot:
    return await discord_bot(
        **settings,
        workflow="coffee",
        workflows={"coffee.json": workflow or coffee()},
        configure=lambda config: config.setdefault("engine", {}).update(question_sweep_s=0.2),
    )


async def asked(bot: DiscordBot, channel_id: int, name: str, *, user_id: int = ALICE) -> dict[str, Any]:
    """``name`` starts the coffee order; returns the question message once it is shown."""
    before = len(bot.bot_messages(channel_id))
    bot.say(channel_id, name, user_id=user_id)
    hello, question = (await bot.wait_bot_messages(channel_id, before + 2))[before:]
    assert hello["content"] == f"Hi {name}!"
    assert question["content"] == "Which size?"
    return question


async def test_the_next_message_answers_the_question_and_other_channels_are_not_affected(
    discord_bot: StartDiscordBot,
) -> None:
    bot = await start_coffee(discord_bot)
    question = await asked(bot, CHANNEL, "Ann")
    assert labels(question) == SIZES
    await asked(bot, OTHER_CHANNEL, "Bob", user_id=BOB)
    mug = bot.say(CHANNEL, "a mug")  # no option: asked again
    assert await bot.answer_to(CHANNEL, mug) == "Which size?"
    large = bot.say(CHANNEL, "Large cup")
    # The answer goes on from the first message's execution: its inputs are Ann's.
    assert await bot.answer_to(CHANNEL, large) == "Large for Ann."
    small = bot.say(OTHER_CHANNEL, "small", user_id=BOB)
    assert await bot.answer_to(OTHER_CHANNEL, small) == "Small for Bob."


async def test_a_button_answers_the_question_and_the_message_shows_the_choice(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await start_coffee(discord_bot)
    question = await asked(bot, CHANNEL, "Ann")
    press = bot.press(CHANNEL, int(question["id"]), "Large cup")
    assert await bot.answer_to(CHANNEL, int(question["id"])) == "Large for Ann."
    ack, edit = discord_emu.interaction_responses(press)
    assert (ack["kind"], ack["type"]) == ("callback", 6)  # acknowledged silently, at once
    assert (edit["kind"], edit["message_id"]) == ("edit", question["id"])  # through the press
    shown = next(m for m in bot.bot_messages(CHANNEL) if m["id"] == question["id"])
    assert shown["content"] == "Which size?\n\n→ Large cup"
    assert shown["components"] == []  # no second press on an answered question


@pytest.mark.parametrize("scope", ["chat", "user"])
async def test_only_the_person_asked_can_press_and_others_are_told_privately(
    discord_bot: StartDiscordBot, scope: str
) -> None:
    bot = await start_coffee(discord_bot, session_scope=scope)  # user: Bob's session is his own
    question = await asked(bot, CHANNEL, "Ann")
    by_bob = bot.press(CHANNEL, int(question["id"]), "Small cup", user_id=BOB)
    assert await bot.whisper_to(by_bob) == "Only Alice can answer this question."
    assert labels(next(m for m in bot.bot_messages(CHANNEL) if m["id"] == question["id"])) == SIZES
    bot.press(CHANNEL, int(question["id"]), "Large cup")  # the question still waits for Alice
    assert await bot.answer_to(CHANNEL, int(question["id"])) == "Large for Ann."


async def test_a_press_on_a_question_no_longer_waiting_says_it_expired(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    doc = coffee()
    doc["nodes"][2]["config"]["timeout_s"] = 0.5
    doc["nodes"].append({"id": "late", "type": "template", "config": {"template": "Too late."}})
    doc["connections"].append({"from": "ask", "port": "timeout", "to": "late"})
    bot = await start_coffee(discord_bot, doc)

    answered = await asked(bot, CHANNEL, "Ann")
    typed = bot.say(CHANNEL, "Small cup")  # answered by typing: its buttons are stale now
    assert await bot.answer_to(CHANNEL, typed) == "Small for Ann."
    stale = bot.press(CHANNEL, int(answered["id"]), "Large cup")
    assert await bot.whisper_to(stale) == "This question has expired."

    reset = await asked(bot, CHANNEL, "Cy")
    command = discord_emu.slash_command(name="reset", channel_id=CHANNEL, user_id=ALICE)
    await discord_emu.wait_for(lambda: len(discord_emu.interaction_responses(int(command["id"]))) == 2)
    stale = bot.press(CHANNEL, int(reset["id"]), "Large cup")
    assert await bot.whisper_to(stale) == "This question has expired."

    timed_out = await asked(bot, OTHER_CHANNEL, "Di")
    # The wait (0.5 s) runs out, a sweep goes on along ``timeout`` and the bot says where it led.
    *_, late = await bot.wait_bot_messages(OTHER_CHANNEL, 3)
    assert late["content"] == "Too late."
    stale = bot.press(OTHER_CHANNEL, int(timed_out["id"]), "Large cup")
    assert await bot.whisper_to(stale) == "This question has expired."
    # No answer to a stale press: the channel's last message is still Cy's question.
    assert [m["content"] for m in bot.bot_messages(CHANNEL)][-1] == "Which size?"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
async def test_the_buttons_keep_working_after_chatgate_restarts(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator, stop: signal.Signals
) -> None:
    bot = await start_coffee(discord_bot)
    question = await asked(bot, CHANNEL, "Ann")
    identified = len(discord_emu.identify_payloads)
    await bot.gw.stop(stop)
    await bot.gw.start()
    await discord_emu.wait_for(
        lambda: len(discord_emu.identify_payloads) > identified and discord_emu.active_connections == 1, 15.0
    )
    bot.press(CHANNEL, int(question["id"]), "Small cup")
    assert await bot.answer_to(CHANNEL, int(question["id"])) == "Small for Ann."


async def test_a_press_delivered_twice_is_answered_once(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await start_coffee(discord_bot)
    question = await asked(bot, CHANNEL, "Ann")
    press = bot.press(CHANNEL, int(question["id"]), "Small cup")
    discord_emu.redeliver_interaction(press)  # at once: the question still waits when it arrives
    assert await bot.answer_to(CHANNEL, int(question["id"])) == "Small for Ann."
    later = bot.say(CHANNEL, "Bo")  # handled after the repeat, in the session's order
    assert await bot.answer_to(CHANNEL, later) == "Hi Bo!"
    assert len(bot.replies_to(CHANNEL, int(question["id"]))) == 1


async def test_a_long_question_arrives_whole_with_its_buttons_on_the_last_part(
    discord_bot: StartDiscordBot,
) -> None:
    doc = coffee()
    doc["nodes"][2]["config"]["question"] = "Which size? " + "Think it over. " * 200
    bot = await start_coffee(discord_bot, doc)
    bot.say(CHANNEL, "Ann")
    _, first, last = await bot.wait_bot_messages(CHANNEL, 3)
    assert len(first["content"]) <= 2000
    assert (labels(first), labels(last)) == ([], SIZES)
    bot.press(CHANNEL, int(last["id"]), "Large cup")
    assert await bot.answer_to(CHANNEL, int(last["id"])) == "Large for Ann."


async def test_a_question_asked_in_answer_to_a_slash_command_or_in_a_dm_takes_its_buttons(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await start_coffee(discord_bot)
    discord_emu.slash_command(name="ask", options={"text": "Ann"}, channel_id=CHANNEL)
    hello, question = await bot.wait_bot_messages(CHANNEL, 2)
    assert (hello["content"], question["content"], labels(question)) == ("Hi Ann!", "Which size?", SIZES)
    bot.press(CHANNEL, int(question["id"]), "Small cup")
    assert await bot.answer_to(CHANNEL, int(question["id"])) == "Small for Ann."

    bot.dm("Bob", user_id=BOB)
    _, question = await bot.wait_bot_messages(dm_channel(BOB), 2)
    bot.press(dm_channel(BOB), int(question["id"]), "Large cup", user_id=BOB)
    assert await bot.answer_to(dm_channel(BOB), int(question["id"])) == "Large for Bob."


async def test_in_a_thread_opened_for_the_answer_only_the_asker_answers_by_typing_or_pressing(
    discord_bot: StartDiscordBot,
) -> None:
    bot = await start_coffee(discord_bot, reply_in_thread=True)
    thread = bot.say(CHANNEL, "Ann")  # a thread opened on a message has the message's id
    hello, question = await bot.wait_bot_messages(thread, 2)
    assert (hello["content"], question["content"], labels(question)) == ("Hi Ann!", "Which size?", SIZES)
    typed = bot.say(thread, "small", user_id=BOB, mention=False)
    assert await bot.answer_to(thread, typed) == "I'm waiting for Alice's answer to my question first."
    by_bob = bot.press(thread, int(question["id"]), "Small cup", user_id=BOB)
    assert await bot.whisper_to(by_bob) == "Only Alice can answer this question."
    bot.press(thread, int(question["id"]), "Large cup")
    assert await bot.answer_to(thread, int(question["id"])) == "Large for Ann."
