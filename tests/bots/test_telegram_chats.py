"""Stories of Telegram users talking to a chatgate bot: private chats, answers, commands.

All run against one shared ``chatgate serve`` (real aiogram inside) and the Bot
API emulator; each story uses chats of its own.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from bots.messages import HELP, NON_TEXT, RESET_DONE
from tests.emulators.telegram.text import MAX_TEXT_UTF16, utf16_len
from tests.support.telegram import Shared

pytestmark = pytest.mark.asyncio(loop_scope="session")


def last_user_text(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def request_for(s: Shared, text: str) -> dict[str, Any]:
    """The model request that asked ``text`` (its messages include the history sent)."""
    found = [r.body for r in s.llm.requests if last_user_text(r.body) == text]
    assert len(found) == 1, f"expected one model request for {text!r}, got {len(found)}"
    return found[0]


async def test_a_private_question_streams_as_a_draft_then_arrives_formatted(shared: Shared) -> None:
    s, chat = shared, shared.chat()
    s.llm.reply = lambda body: "Here is **bold** and `code`: 1 < 2 & 3 > 2, see [docs](https://example.org)."
    s.llm.delay_s = 0.6  # a wait the user notices: "typing…" is shown before the first token
    s.llm.chunk_delay_s = 0.1
    s.tg.push_message(s.model, chat_id=chat, text="show me formatting")

    [answer] = await s.wait_texts(s.model, chat, 1)
    assert answer == "Here is bold and code: 1 < 2 & 3 > 2, see docs."
    [message] = s.tg.chat_messages(s.model, chat)
    assert message["parse_mode"] == "HTML"
    kinds = {e["type"] for e in message["entities"]}
    assert kinds == {"bold", "code", "text_link"}
    assert "reply_to_message" not in message  # private chats need no reply threading
    assert any(a["action"] == "typing" for a in s.tg.chat_actions(s.model, chat))
    drafts = [d["text"] for d in s.tg.drafts(s.model, chat)]
    assert len(drafts) >= 2, drafts  # the answer grew in front of the user
    assert all(len(a) < len(b) for a, b in itertools.pairwise(drafts)), drafts
    assert not s.tg.calls_to("editMessageText", s.model)  # private chats stream by draft, not edits


async def test_start_greets_and_help_explains_without_calling_the_model(shared: Shared) -> None:
    s, chat = shared, shared.chat()
    s.tg.push_message(s.model, chat_id=chat, text="/start")
    s.tg.push_message(s.model, chat_id=chat, text="/help")
    assert await s.wait_texts(s.model, chat, 2) == ["Hello from the test bot!", HELP]
    assert s.llm.requests == []


async def test_the_bot_registers_its_commands_for_private_chats_and_groups(shared: Shared) -> None:
    bot = shared.tg.bots[shared.model]
    assert [c["command"] for c in bot.commands] == ["start", "help", "reset"]
    groups = bot.commands_by_scope[('{"type":"all_group_chats"}', "")]
    assert [c["command"] for c in groups] == ["ask", "help", "reset"]


async def test_reset_forgets_the_conversation(shared: Shared) -> None:
    s, chat = shared, shared.chat()
    for text in ("my name is Ann", "what is my name?"):
        s.tg.push_message(s.model, chat_id=chat, text=text)
    await s.wait_texts(s.model, chat, 2)
    remembered = [m["content"] for m in request_for(s, "what is my name?")["messages"]]
    assert "my name is Ann" in remembered

    s.tg.push_message(s.model, chat_id=chat, text="/reset")
    s.tg.push_message(s.model, chat_id=chat, text="and now?")
    texts = await s.wait_texts(s.model, chat, 4)
    assert texts[2] == RESET_DONE
    assert [m["role"] for m in request_for(s, "and now?")["messages"]] == ["system", "user"]


async def test_pictures_and_stickers_get_a_short_note_where_the_workflow_takes_no_files(
    shared: Shared,
) -> None:
    s, chat = shared, shared.chat()
    s.tg.push_message(s.echo, chat_id=chat, photo=True)
    s.tg.push_message(s.echo, chat_id=chat, sticker=True)
    s.tg.push_message(s.echo, chat_id=chat, photo=True, caption="what is on this photo?")
    s.tg.push_message(s.echo, chat_id=chat, text="and now in words")
    assert await s.wait_texts(s.echo, chat, 4) == [NON_TEXT, NON_TEXT, NON_TEXT, "(echo) and now in words"]


async def test_a_long_answer_arrives_whole_in_ordered_parts_under_the_limit(shared: Shared) -> None:
    s, chat = shared, shared.chat()
    paragraphs = [f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 12 for i in range(24)]
    code = "```python\n" + "\n".join(f"print({i})  # line {i}" for i in range(250)) + "\n```"
    answer = "\n\n".join([*paragraphs[:10], code, *paragraphs[10:]])
    s.llm.reply = lambda body: answer
    s.tg.push_message(s.model, chat_id=chat, text="tell me everything")

    await s.tg.wait_for(lambda: "Paragraph 23" in "".join(s.texts(s.model, chat)), timeout=15)
    messages = s.tg.chat_messages(s.model, chat)
    assert len(messages) >= 4
    assert all(utf16_len(m["text"]) <= MAX_TEXT_UTF16 for m in messages)
    joined = "\n".join(m["text"] for m in messages)
    positions = [joined.index(f"Paragraph {i}:") for i in range(24)]
    assert positions == sorted(positions)  # every part, in order
    printed = [line for line in joined.split("\n") if line.startswith("print(")]
    assert printed == [f"print({i})  # line {i}" for i in range(250)]  # the code block survived the cut
    pre_parts = [m for m in messages if any(e["type"] == "pre" for e in m.get("entities", []))]
    assert len(pre_parts) >= 2  # cut inside the code block: reopened as code in the next part


async def test_the_same_long_answer_in_emoji_is_cut_by_utf16_units(shared: Shared) -> None:
    s, chat = shared, shared.chat()
    text = " ".join(["😀🎉"] * 3000)  # 2 code points but 4 UTF-16 units per word
    s.tg.push_message(s.echo, chat_id=chat, text=text)
    await s.tg.wait_for(lambda: sum(t.count("😀") for t in s.texts(s.echo, chat)) == 3000, timeout=15)
    messages = s.texts(s.echo, chat)
    assert len(messages) >= 3
    assert all(utf16_len(t) <= MAX_TEXT_UTF16 for t in messages)


async def test_when_telegram_refuses_the_formatting_the_answer_comes_as_plain_text(shared: Shared) -> None:
    s, chat = shared, shared.chat()
    s.tg.fail_next(
        "sendMessage",
        error_code=400,
        token=s.echo,
        description='Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0',
    )
    s.tg.push_message(s.echo, chat_id=chat, text="**important** text")
    await s.wait_texts(s.echo, chat, 1)
    [message] = s.tg.chat_messages(s.echo, chat)
    assert message["parse_mode"] is None
    assert message["text"] == "(echo) **important** text"  # the Markdown source: nothing lost


async def test_a_model_failure_gets_a_short_apology_and_the_bot_keeps_serving(shared: Shared) -> None:
    s, chat = shared, shared.chat()
    s.llm.fail_next(500)
    s.tg.push_message(s.model, chat_id=chat, text="first try")
    s.tg.push_message(s.model, chat_id=chat, text="second try")
    texts = await s.wait_texts(s.model, chat, 2)
    assert texts == ["Sorry, I can't answer right now. Please try again in a moment.", "echo: second try"]
    logs = s.gw.logs()
    assert "Traceback" not in logs, logs[logs.find("Traceback") - 2000 :][:6000]
    assert any("could not answer" in line and "(execution exec_" in line for line in s.gw.logs().splitlines())


async def test_flood_control_waits_retry_after_and_retries_the_same_call(shared: Shared) -> None:
    s, chat = shared, shared.chat()
    s.tg.fail_next("sendMessage", error_code=429, retry_after=1, token=s.echo)
    s.tg.push_message(s.echo, chat_id=chat, text="are you there?")
    assert await s.wait_texts(s.echo, chat, 1) == ["(echo) are you there?"]
    statuses = [c.status for c in s.tg.calls_to("sendMessage", s.echo) if c.params.get("chat_id") == chat]
    assert statuses == [429, 200]


async def test_a_burst_under_strict_flood_limits_still_arrives_complete_and_in_order(shared: Shared) -> None:
    s, chat = shared, shared.chat()
    s.tg.flood_limit_per_chat = 1.0  # one message per second, no burst
    words = [f"w{i:04d}" for i in range(2400)]  # ~14,000 characters: four parts
    s.tg.push_message(s.echo, chat_id=chat, text=" ".join(words))
    await s.tg.wait_for(lambda: "w2399" in " ".join(s.texts(s.echo, chat)), timeout=20)
    assert " ".join(s.texts(s.echo, chat)).split() == ["(echo)", *words]
    statuses = [c.status for c in s.tg.calls_to("sendMessage", s.echo) if c.params.get("chat_id") == chat]
    assert 429 in statuses  # Telegram did push back, and every part still arrived


async def test_a_chat_is_answered_in_order_while_other_chats_go_ahead(shared: Shared) -> None:
    s = shared
    busy, other = s.chat(), s.chat()
    s.llm.delay_s = 0.4
    for i in range(3):
        s.tg.push_message(s.model, chat_id=busy, text=f"busy {i}")
    s.tg.push_message(s.model, chat_id=other, text="other 0")
    assert await s.wait_texts(s.model, busy, 3) == [f"echo: busy {i}" for i in range(3)]
    sends = [
        c.params["chat_id"]
        for c in s.tg.calls_to("sendMessage", s.model)
        if c.params["chat_id"] in (busy, other)
    ]
    # The other chat did not wait for the busy chat's queue to empty.
    assert sends.index(other) < len(sends) - 1


async def test_a_user_over_the_rate_limit_gets_one_notice_and_no_model_call(shared: Shared) -> None:
    s, group = shared, shared.chat(group=True)
    for i in range(5):
        s.tg.push_message(
            s.limited, chat_id=group, chat_type="supergroup", user_id=7, text=f"@limited_bot q{i}"
        )
    # Another member, same conversation: answered after the five above were handled.
    s.tg.push_message(s.limited, chat_id=group, chat_type="supergroup", user_id=8, text="@limited_bot other")
    await s.tg.wait_for(lambda: "(echo) other" in s.texts(s.limited, group))
    texts = s.texts(s.limited, group)
    notices = [t for t in texts if t.startswith("You're sending messages too fast")]
    assert texts[:2] == ["(echo) q0", "(echo) q1"]
    assert len(notices) == 1
    assert "Please wait" in notices[0]
    assert texts[2:] == [notices[0], "(echo) other"]  # q2..q4: no answer, one notice
