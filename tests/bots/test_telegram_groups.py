"""Stories of a chatgate bot in Telegram groups: it speaks when spoken to, and keeps
conversations apart per chat, per forum topic or per member."""

from __future__ import annotations

from typing import Any

import pytest

from bots.messages import HELP, NON_TEXT
from tests.support.telegram import Shared

pytestmark = pytest.mark.asyncio(loop_scope="session")

SUPERGROUP = "supergroup"


def history(s: Shared, question: str) -> list[str]:
    """What the model was shown (system prompt, history, question) when asked ``question``."""
    [body] = [r.body for r in s.llm.requests if r.body["messages"][-1]["content"] == question]
    return [m["content"] for m in body["messages"]]


def say(s: Shared, token: str, group: int, text: str | None, **kw: Any) -> dict[str, Any]:
    update = s.tg.push_message(token, chat_id=group, chat_type=SUPERGROUP, text=text, **kw)
    message: dict[str, Any] = update["message"]
    return message


async def test_the_bot_answers_mentions_only_with_the_mention_stripped_as_a_reply(shared: Shared) -> None:
    s, group = shared, shared.chat(group=True)
    say(s, s.echo, group, "hello everyone, nice weather", user_id=1)
    say(s, s.echo, group, None, user_id=1, photo=True)
    asked = say(s, s.echo, group, "@chatgate_bot what's up?", user_id=2)

    assert await s.wait_texts(s.echo, group, 1) == ["(echo) what's up?"]
    [answer] = s.tg.chat_messages(s.echo, group)
    assert answer["reply_to_message"]["message_id"] == asked["message_id"]


async def test_replying_to_the_bot_counts_as_asking_it(shared: Shared) -> None:
    s, group = shared, shared.chat(group=True)
    say(s, s.echo, group, "@chatgate_bot first", user_id=3)
    await s.wait_texts(s.echo, group, 1)
    bot_message = s.tg.chat_messages(s.echo, group)[0]["message_id"]
    someone = say(s, s.echo, group, "a human message", user_id=4)

    say(s, s.echo, group, "a reply to a human", user_id=3, reply_to_message_id=someone["message_id"])
    say(s, s.echo, group, "and more?", user_id=3, reply_to_message_id=bot_message)
    say(s, s.echo, group, None, user_id=3, reply_to_message_id=bot_message, sticker=True)
    texts = await s.wait_texts(s.echo, group, 3)
    assert texts[1:] == ["(echo) and more?", NON_TEXT]


async def test_commands_count_only_when_they_are_for_this_bot(shared: Shared) -> None:
    s, group = shared, shared.chat(group=True)
    for text in [
        "/ask hello",
        "/ask@other_bot not for me",
        "/help@other_bot",
        "/weather",  # another bot's command, not addressed to anyone in particular
        "/ask@chatgate_bot hi there",
        "/ask",
        "/help",
    ]:
        say(s, s.echo, group, text, user_id=5)
    texts = await s.wait_texts(s.echo, group, 4)
    assert texts == [
        "(echo) hello",
        "(echo) hi there",
        "Write your question after the command, e.g. /ask What is chatgate?",
        HELP + "\nIn groups: mention me, reply to my message, or write /ask <question>.",
    ]


async def test_forum_topics_are_separate_conversations(shared: Shared) -> None:
    s, group = shared, shared.chat(group=True)
    topic_a = {"message_thread_id": 10, "is_topic_message": True}
    topic_b = {"message_thread_id": 20, "is_topic_message": True}
    say(s, s.model, group, "@model_bot my colour is red", user_id=6, **topic_a)
    say(s, s.model, group, "@model_bot my colour is blue", user_id=6, **topic_b)
    await s.wait_texts(s.model, group, 2)
    say(s, s.model, group, "@model_bot which colour?", user_id=6, **topic_a)
    await s.wait_texts(s.model, group, 3)

    seen = history(s, "which colour?")
    assert "my colour is red" in seen
    assert "my colour is blue" not in seen
    threads = {m["text"]: m.get("message_thread_id") for m in s.tg.chat_messages(s.model, group)}
    assert threads == {  # each answer lands in its topic
        "echo: my colour is red": 10,
        "echo: my colour is blue": 20,
        "echo: which colour?": 10,
    }


async def test_per_member_sessions_keep_group_members_apart(shared: Shared) -> None:
    s, group = shared, shared.chat(group=True)
    say(s, s.per_user, group, "@peruser_bot I am number one", user_id=11)
    say(s, s.per_user, group, "@peruser_bot I am number two", user_id=12)
    await s.wait_texts(s.per_user, group, 2)
    say(s, s.per_user, group, "@peruser_bot who am I?", user_id=11)
    await s.wait_texts(s.per_user, group, 3)

    seen = history(s, "who am I?")
    assert "I am number one" in seen
    assert "I am number two" not in seen


async def test_group_answers_grow_in_one_edited_message(shared: Shared) -> None:
    s, group = shared, shared.chat(group=True)
    reply = " ".join(f"word{i}" for i in range(40))
    s.llm.reply = lambda body: reply
    s.llm.chunk_delay_s = 0.08  # ~3 s of streaming: a preview at 1 s, edits after
    say(s, s.model, group, "@model_bot stream please", user_id=13)

    await s.tg.wait_for(lambda: s.texts(s.model, group) == [reply], timeout=10)
    [message] = s.tg.chat_messages(s.model, group)
    assert message["edits"] >= 2  # it grew in place
    edits = [c for c in s.tg.calls_to("editMessageText", s.model) if c.params["chat_id"] == group]
    assert all(c.status == 200 for c in edits)  # never an edit with unchanged text (Telegram: 400)
    sends = [c for c in s.tg.calls_to("sendMessage", s.model) if c.params["chat_id"] == group]
    assert len(sends) == 1
