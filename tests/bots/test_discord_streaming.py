"""How answers arrive on Discord: typing, a preview edited as the model writes,
long answers in parts under 2000 characters, and Discord's 429s survived."""

from __future__ import annotations

import itertools
import re

from bots.split import _open_fence
from tests.emulators.discord.server import DiscordEmulator, iter_calls
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.discord import CHANNEL, StartDiscordBot, use_model


async def test_a_slow_answer_shows_typing_then_a_preview_edited_until_complete(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator, openai_emu: OpenAIEmulator
) -> None:
    discord_emu.edit_limit = (5, 5.0)  # Discord's: more edits would be answered 429
    openai_emu.delay_s = 0.8  # thinking before the first token: long enough to show typing
    openai_emu.chunk_delay_s = 0.2  # then five words a second
    bot = await discord_bot(configure=use_model(openai_emu))
    question = " ".join(f"word{i}" for i in range(10))
    asked = bot.say(CHANNEL, question)

    await bot.emu.wait_for(
        lambda: (
            bot.replies_to(CHANNEL, asked)
            and bot.replies_to(CHANNEL, asked)[0]["content"] == f"echo: {question}"
        ),
        15.0,
    )
    [answer] = bot.bot_messages(CHANNEL)
    assert discord_emu.typing_calls(CHANNEL) >= 1
    assert answer["edits"] >= 1  # it grew in place: one message, edited
    assert not [c for c in discord_emu.calls if c.status == 429]
    edits = iter_calls(discord_emu.calls, "PATCH", rf"/channels/{CHANNEL}/messages/{answer['id']}$")
    [first] = iter_calls(discord_emu.calls, "POST", rf"/channels/{CHANNEL}/messages$")
    shown = [first.json["content"]] + [c.json["content"] for c in edits]
    assert all(a != b for a, b in itertools.pairwise(shown))  # never an edit that changes nothing
    assert all(f"echo: {question}".startswith(s) for s in shown)  # each a prefix of the answer


def _code_question(lines: int) -> str:
    code = "\n".join(f"    value_{i} = compute({i})  # step {i}" for i in range(lines))
    return f"Why does this fail?\n```python\ndef main():\n{code}\n```\nThanks!"


async def test_a_long_answer_arrives_whole_in_parts_with_code_blocks_closed_and_reopened(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot()
    question = _code_question(200)  # about 8,000 characters
    expected = f"(echo) {question}"
    asked = bot.say(CHANNEL, question)
    await bot.emu.wait_for(lambda: any(m["content"].endswith("Thanks!") for m in bot.bot_messages(CHANNEL)))
    contents = [m["content"] for m in bot.bot_messages(CHANNEL)]

    assert len(contents) >= 4
    assert all(len(c) <= 2000 for c in contents)
    assert all(_open_fence(c) is None for c in contents)  # every part renders its code as code
    assert all(c.startswith("```python\n") for c in contents[1:-1])  # reopened with its language
    assert contents[0].startswith("(echo) Why does this fail?")
    assert bot.replies_to(CHANNEL, asked)[0]["content"] == contents[0]  # the first part is the reply
    # Nothing lost, nothing repeated: the parts without the added fences are the answer.
    rejoined = re.sub(r"\n```\n?```python\n", "\n", "\n".join(contents))
    assert rejoined.split() == expected.split()


async def test_a_rate_limited_send_is_retried_and_delivered_once(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot()
    discord_emu.fail_next("POST", rf"^/channels/{CHANNEL}/messages$", status=429, retry_after=0.2, times=2)
    asked = bot.say(CHANNEL, "are you rate limited?")
    assert await bot.answer_to(CHANNEL, asked) == "(echo) are you rate limited?"
    sends = iter_calls(discord_emu.calls, "POST", rf"^/channels/{CHANNEL}/messages$")
    assert [c.status for c in sends] == [429, 429, 200]
    assert len(bot.bot_messages(CHANNEL)) == 1


async def test_a_burst_in_one_channel_is_paced_and_every_answer_arrives(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    """Six people ask at once in one channel (each their own conversation): more sends
    than Discord allows per 5 s in a channel, so one waits, but none is lost or refused."""
    discord_emu.send_limit = (5, 5.0)
    bot = await discord_bot(session_scope="user", max_in_flight=8)
    asked = {bot.say(CHANNEL, f"question {u}", user_id=u): u for u in range(2001, 2007)}
    await bot.wait_bot_messages(CHANNEL, 6, wait_s=15.0)
    for message_id, user in asked.items():
        assert [m["content"] for m in bot.replies_to(CHANNEL, message_id)] == [f"(echo) question {user}"]
    assert not [c for c in discord_emu.calls if c.status == 429]
