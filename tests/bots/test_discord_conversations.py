"""Discord users talk to the bot: what it answers, where, and which conversation it continues."""

from __future__ import annotations

from tests.emulators.discord.server import DiscordEmulator, iter_calls
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.discord import (
    ALICE,
    BOB,
    BOT_ID,
    CHANNEL,
    GUILD,
    OTHER_CHANNEL,
    StartDiscordBot,
    dm_channel,
    use_model,
    user_turns,
)


async def test_a_direct_message_is_answered_with_a_reply_to_it(discord_bot: StartDiscordBot) -> None:
    bot = await discord_bot()
    asked = bot.dm("how do I reset my password?")
    assert await bot.answer_to(dm_channel(ALICE), asked) == "(echo) how do I reset my password?"


async def test_in_a_server_only_mentions_and_replies_to_the_bot_are_answered(
    discord_bot: StartDiscordBot,
) -> None:
    bot = await discord_bot()
    chatter = bot.say(CHANNEL, "lunch anyone?", mention=False)
    asked = bot.say(CHANNEL, "what are your opening hours?")
    answer = await bot.answer_to(CHANNEL, asked)
    assert answer == "(echo) what are your opening hours?"  # the mention is stripped
    assert bot.replies_to(CHANNEL, chatter) == []  # handled in order, so it was skipped, not late

    answer_id = int(bot.replies_to(CHANNEL, asked)[0]["id"])
    follow_up = bot.say(CHANNEL, "and on sundays?", mention=False, reply_to=answer_id)
    assert await bot.answer_to(CHANNEL, follow_up) == "(echo) and on sundays?"
    assert len(bot.bot_messages(CHANNEL)) == 2


async def test_other_bots_are_never_answered(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot()
    other = discord_emu.add_bot("OTUw.other-bot.token-0123456789", user_id=950, username="otherbot")
    discord_emu.user_message(
        channel_id=CHANNEL, content=f"<@{BOT_ID}> ping", user_id=other.user_id, username="otherbot"
    )
    asked = bot.say(CHANNEL, "are you there?")
    await bot.answer_to(CHANNEL, asked)
    assert [m["content"] for m in bot.bot_messages(CHANNEL)] == ["(echo) are you there?"]


async def test_a_bare_mention_gets_the_greeting(discord_bot: StartDiscordBot) -> None:
    bot = await discord_bot(greeting="Hello! Ask me about our products.")
    asked = bot.say(CHANNEL, "")
    assert await bot.answer_to(CHANNEL, asked) == "Hello! Ask me about our products."


async def test_answers_never_ping_everyone_or_other_people(discord_bot: StartDiscordBot) -> None:
    """The offline model repeats the question, so the answer contains the pings verbatim."""
    bot = await discord_bot()
    asked = bot.say(CHANNEL, f"tell @everyone and <@{BOB}> hi")
    await bot.answer_to(CHANNEL, asked)
    answer = bot.replies_to(CHANNEL, asked)[0]
    assert "@everyone" in answer["content"]
    assert [u["id"] for u in answer["mentions"]] == [str(ALICE)]  # only the asker, through the reply
    assert answer["mention_everyone"] is False


async def test_each_dm_channel_and_thread_is_its_own_conversation(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator, openai_emu: OpenAIEmulator
) -> None:
    bot = await discord_bot(configure=use_model(openai_emu))
    discord_emu.add_thread(GUILD, CHANNEL, 600)
    steps = [
        (CHANNEL, "channel one"),
        (CHANNEL, "channel two"),
        (OTHER_CHANNEL, "other channel"),
        (600, "in the thread"),
        (dm_channel(ALICE), "in my DMs"),
    ]
    for channel, text in steps:
        asked = bot.dm(text) if channel == dm_channel(ALICE) else bot.say(channel, text)
        await bot.answer_to(channel, asked)
    histories = [user_turns(r) for r in openai_emu.requests]
    assert histories == [
        ["channel one"],
        ["channel one", "channel two"],  # same channel: the conversation continues
        ["other channel"],
        ["in the thread"],  # a thread is not its parent channel
        ["in my DMs"],
    ]


async def test_with_session_scope_user_everyone_in_a_channel_has_their_own_conversation(
    discord_bot: StartDiscordBot, openai_emu: OpenAIEmulator
) -> None:
    bot = await discord_bot(configure=use_model(openai_emu), session_scope="user")
    for user, text in [(ALICE, "alice one"), (BOB, "bob one"), (ALICE, "alice two")]:
        await bot.answer_to(CHANNEL, bot.say(CHANNEL, text, user_id=user))
    assert [user_turns(r) for r in openai_emu.requests] == [
        ["alice one"],
        ["bob one"],
        ["alice one", "alice two"],
    ]


async def test_messages_in_threads_and_forum_posts_are_answered_there(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot()
    discord_emu.add_thread(GUILD, CHANNEL, 600)
    discord_emu.add_thread(GUILD, 510, 610, forum=True)
    in_thread = bot.say(600, "question in a thread")
    in_post = bot.say(610, "question in a forum post")
    assert await bot.answer_to(600, in_thread) == "(echo) question in a thread"
    assert await bot.answer_to(610, in_post) == "(echo) question in a forum post"
    assert bot.bot_messages(CHANNEL) == []


async def test_reply_in_thread_opens_a_thread_where_the_conversation_continues(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator, openai_emu: OpenAIEmulator
) -> None:
    bot = await discord_bot(configure=use_model(openai_emu), reply_in_thread=True)
    asked = bot.say(CHANNEL, "my order never arrived\nit was order 42")
    # A thread started on a message has the message's id.
    answers = await bot.wait_bot_messages(asked, 1)
    assert answers[0]["content"] == "echo: my order never arrived\nit was order 42"
    [opened] = iter_calls(discord_emu.calls, "POST", rf"^/channels/{CHANNEL}/messages/{asked}/threads$")
    assert opened.json["name"] == "my order never arrived"  # the question's first line
    assert bot.bot_messages(CHANNEL) == []  # nothing in the channel itself

    follow_up = bot.say(asked, "any news?", mention=False)  # no mention needed in its own thread
    assert await bot.answer_to(asked, follow_up) == "echo: any news?"
    assert user_turns(openai_emu.requests[-1]) == ["my order never arrived\nit was order 42", "any news?"]
