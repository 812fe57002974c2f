"""Self-tests for the Telegram Bot API emulator, driven by the real aiogram Bot and Dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)

from tests.emulators.telegram.html_markup import parse_html
from tests.emulators.telegram.markdown_markup import parse_markdown_v2
from tests.emulators.telegram.server import TelegramEmulator
from tests.emulators.telegram.text import utf16_len

TOKEN = "123456:TEST-token"
USER_CHAT = 1001


def make_bot(emu: TelegramEmulator, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator() as emulator:
        emulator.add_bot(TOKEN)
        yield emulator


@pytest_asyncio.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    client = make_bot(emu)
    yield client
    await client.session.close()


@contextlib.asynccontextmanager
async def polling(emu: TelegramEmulator, dp: Dispatcher, bot: Bot) -> AsyncIterator[None]:
    polls_before = len(emu.calls_to("getUpdates"))
    task = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=2)
    )
    await emu.wait_for(lambda: len(emu.calls_to("getUpdates")) > polls_before or task.done())
    try:
        yield
    finally:
        if not task.done():
            await dp.stop_polling()
        await task


@pytest.mark.asyncio
async def test_get_me_describes_the_bot(emu: TelegramEmulator, bot: Bot) -> None:
    me = await bot.get_me()

    assert me.id == 123456
    assert me.is_bot
    assert me.username == "chatgate_bot"
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False
    assert [call.method for call in emu.calls] == ["getMe"]


@pytest.mark.asyncio
async def test_polling_delivers_a_private_message_and_records_the_answer(
    emu: TelegramEmulator, bot: Bot
) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    emu.push_message(TOKEN, chat_id=USER_CHAT, text="hello")
    async with polling(emu, dp, bot):
        await emu.wait_for(lambda: len(emu.chat_messages(TOKEN, USER_CHAT)) == 1)
        # The update is acknowledged by the next getUpdates' offset.
        await emu.wait_for(lambda: not emu.pending_updates(TOKEN))

    [sent] = emu.chat_messages(TOKEN, USER_CHAT)
    assert sent["text"] == "echo: hello"
    assert sent["from"]["id"] == 123456
    assert sent["from"]["is_bot"] is True
    assert sent["chat"] == {"id": USER_CHAT, "type": "private", "first_name": "Alice"}
    assert sent["message_id"] == 2  # the pushed message was 1 in this chat
    assert sent["edits"] == 0
    assert sent["parse_mode"] is None
    assert emu.calls[0].method == "getMe"
    assert emu.calls_to("getupdates")[0].params["allowed_updates"] == ["message"]


@pytest.mark.asyncio
async def test_offset_acknowledges_updates(emu: TelegramEmulator, bot: Bot) -> None:
    pushed = [emu.push_message(TOKEN, chat_id=USER_CHAT, text=f"m{i}") for i in range(3)]
    assert [u["update_id"] for u in pushed] == [1, 2, 3]

    first = await bot.get_updates(limit=2)
    assert [u.update_id for u in first] == [1, 2]
    again = await bot.get_updates()
    assert [u.update_id for u in again] == [1, 2, 3]  # nothing acknowledged yet

    after = await bot.get_updates(offset=3)
    assert [u.update_id for u in after] == [3]
    assert [u["update_id"] for u in emu.pending_updates(TOKEN)] == [3]
    assert await bot.get_updates(offset=4) == []
    assert emu.pending_updates(TOKEN) == []


@pytest.mark.asyncio
async def test_long_poll_waits_for_an_update_and_a_second_poller_gets_409(
    emu: TelegramEmulator, bot: Bot
) -> None:
    waiting = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for(lambda: len(emu.calls_to("getUpdates")) == 1)
    await asyncio.sleep(0.05)
    assert not waiting.done()

    second = make_bot(emu)
    try:
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
            await second.get_updates(timeout=1)
    finally:
        await second.session.close()

    started = time.monotonic()
    emu.push_message(TOKEN, chat_id=USER_CHAT, text="wake up")
    updates = await asyncio.wait_for(waiting, 2)
    assert time.monotonic() - started < 1
    assert updates[0].message is not None
    assert updates[0].message.text == "wake up"


@pytest.mark.asyncio
async def test_short_poll_timeout_returns_empty(emu: TelegramEmulator, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 < time.monotonic() - started < 2


@pytest.mark.asyncio
async def test_html_is_parsed_and_validated(emu: TelegramEmulator, bot: Bot) -> None:
    ok = await bot.send_message(
        USER_CHAT, "<b>x</b> &amp; <a href='https://e.x/?a=1&b=2'>link</a>", parse_mode="HTML"
    )
    assert ok.text == "x & link"
    assert ok.entities is not None
    assert [(e.type, e.offset, e.length) for e in ok.entities] == [("bold", 0, 1), ("text_link", 4, 4)]
    assert ok.entities[1].url == "https://e.x/?a=1&b=2"

    for bad in ("<b>x", "<foo>x</foo>", "<b>x</i>", "a < b", "Tom & Jerry", "&nbsp;"):
        with pytest.raises(TelegramBadRequest, match="can't parse entities"):
            await bot.send_message(USER_CHAT, bad, parse_mode="HTML")
    assert len(emu.chat_messages(TOKEN, USER_CHAT)) == 1


def test_html_parser_details() -> None:
    text, entities = parse_html(
        '<pre><code class="language-python">print(1)</code></pre>\n'
        '<tg-spoiler>s</tg-spoiler><span class="tg-spoiler">p</span>'
        "<blockquote expandable>q</blockquote>&#128512;&#x27;&quot;"
    )
    assert text == "print(1)\nspq😀'\""
    assert entities == [
        {"type": "pre", "offset": 0, "length": 8, "language": "python"},
        {"type": "spoiler", "offset": 9, "length": 1},
        {"type": "spoiler", "offset": 10, "length": 1},
        {"type": "expandable_blockquote", "offset": 11, "length": 1},
    ]
    assert parse_html("😀<b>x</b>")[1] == [{"type": "bold", "offset": 2, "length": 1}]


def test_markdown_v2_parser() -> None:
    text, entities = parse_markdown_v2(r"*bold* _it_ [site](https://e.x) `a\`b` done\.")
    assert text == "bold it site a`b done."
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("bold", 0, 4),
        ("italic", 5, 2),
        ("text_link", 8, 4),
        ("code", 13, 3),
    ]
    assert parse_markdown_v2(">quoted\n>lines\nafter") == (
        "quoted\nlines\nafter",
        [{"type": "blockquote", "offset": 0, "length": 12}],
    )


@pytest.mark.asyncio
async def test_markdown_v2_requires_escaping(emu: TelegramEmulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
        await bot.send_message(USER_CHAT, "Done.", parse_mode="MarkdownV2")
    with pytest.raises(TelegramBadRequest, match="Can't find end of Bold entity"):
        await bot.send_message(USER_CHAT, "*open", parse_mode="MarkdownV2")
    sent = await bot.send_message(USER_CHAT, r"*Done*\.", parse_mode="MarkdownV2")
    assert sent.text == "Done."
    assert emu.chat_messages(TOKEN, USER_CHAT)[0]["parse_mode"] == "MarkdownV2"


@pytest.mark.asyncio
async def test_length_limit_counts_utf16_units_after_entity_parsing(emu: TelegramEmulator, bot: Bot) -> None:
    assert utf16_len("😀") == 2
    await bot.send_message(USER_CHAT, "😀" * 2048)  # 2048 characters, 4096 units
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER_CHAT, "😀" * 2048 + "a")  # 2049 characters, 4097 units
    await bot.send_message(USER_CHAT, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")  # tags don't count
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER_CHAT, "<b>" + "a" * 4097 + "</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER_CHAT, "<b> </b>", parse_mode="HTML")
    assert len(emu.chat_messages(TOKEN, USER_CHAT)) == 2


@pytest.mark.asyncio
async def test_edit_message_text(emu: TelegramEmulator, bot: Bot) -> None:
    sent = await bot.send_message(USER_CHAT, "hello")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("hello", chat_id=USER_CHAT, message_id=sent.message_id)

    edited = await bot.edit_message_text(
        "<i>hello</i> world", chat_id=USER_CHAT, message_id=sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, Message)
    assert edited.edit_date is not None
    [stored] = emu.chat_messages(TOKEN, USER_CHAT)
    assert stored["text"] == "hello world"
    assert stored["edits"] == 1
    assert stored["parse_mode"] == "HTML"

    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER_CHAT, message_id=999)


@pytest.mark.asyncio
async def test_replies_embed_the_replied_message(emu: TelegramEmulator, bot: Bot) -> None:
    incoming = emu.push_message(TOKEN, chat_id=USER_CHAT, text="question")["message"]
    reply = await bot.send_message(
        USER_CHAT, "answer", reply_parameters=ReplyParameters(message_id=incoming["message_id"])
    )
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "question"
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(USER_CHAT, "lost", reply_parameters=ReplyParameters(message_id=404))

    follow_up = emu.push_message(
        TOKEN, chat_id=USER_CHAT, text="thanks", reply_to_message_id=reply.message_id
    )
    assert follow_up["message"]["reply_to_message"]["text"] == "answer"
    assert follow_up["message"]["message_id"] == 3


@pytest.mark.asyncio
async def test_fail_next_answers_429_with_retry_after(emu: TelegramEmulator, bot: Bot) -> None:
    emu.fail_next("sendMessage", error_code=429, retry_after=1)
    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(USER_CHAT, "first")
    assert raised.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in str(raised.value)

    await bot.send_message(USER_CHAT, "second")
    assert [c.status for c in emu.calls_to("sendMessage")] == [429, 200]
    assert [m["text"] for m in emu.chat_messages(TOKEN, USER_CHAT)] == ["second"]


@pytest.mark.asyncio
async def test_flood_limit_per_chat(emu: TelegramEmulator, bot: Bot) -> None:
    emu.flood_limit_per_chat = 1.0
    await bot.send_message(USER_CHAT, "one")
    await bot.send_message(2002, "other chat has its own budget")
    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(USER_CHAT, "two")
    assert raised.value.retry_after == 1


@pytest.mark.asyncio
async def test_drafts_and_chat_actions_are_recorded(emu: TelegramEmulator, bot: Bot) -> None:
    assert await bot.send_chat_action(USER_CHAT, "typing")
    assert await bot.send_message_draft(USER_CHAT, draft_id=7, text="Think")
    assert await bot.send_message_draft(USER_CHAT, draft_id=7, text="Thinking hard")
    with pytest.raises(TelegramBadRequest, match="draft_id"):
        await bot.send_message_draft(USER_CHAT, draft_id=0, text="x")

    drafts = emu.drafts(TOKEN, USER_CHAT)
    assert [(d["draft_id"], d["text"]) for d in drafts] == [(7, "Think"), (7, "Thinking hard")]
    assert emu.calls_to("sendChatAction")[0].params == {"chat_id": USER_CHAT, "action": "typing"}
    assert emu.chat_actions(TOKEN, USER_CHAT)[0]["action"] == "typing"
    assert emu.chat_messages(TOKEN, USER_CHAT) == []


@pytest.mark.asyncio
async def test_commands_are_recorded_and_returned(emu: TelegramEmulator, bot: Bot) -> None:
    commands = [
        BotCommand(command="start", description="Start"),
        BotCommand(command="help", description="Help"),
    ]
    assert await bot.set_my_commands(commands)

    returned = await bot.get_my_commands()
    assert [(c.command, c.description) for c in returned] == [("start", "Start"), ("help", "Help")]
    assert emu.calls_to("setMyCommands")[0].params["commands"] == [
        {"command": "start", "description": "Start"},
        {"command": "help", "description": "Help"},
    ]
    assert emu.bots[TOKEN].commands[0]["command"] == "start"
    with pytest.raises(TelegramBadRequest):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == []


@pytest.mark.asyncio
async def test_webhook_blocks_get_updates(emu: TelegramEmulator, bot: Bot) -> None:
    assert await bot.set_webhook("https://gateway.example/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://gateway.example/hook"
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()

    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == []
    assert (await bot.get_webhook_info()).url == ""


@pytest.mark.asyncio
async def test_set_down_and_back_up(emu: TelegramEmulator, bot: Bot) -> None:
    emu.set_down(True)
    with pytest.raises((TelegramServerError, TelegramNetworkError)):
        await bot.get_me()
    emu.set_down(True, status=0)
    with pytest.raises(TelegramNetworkError):
        await bot.get_me()

    emu.set_down(False)
    assert (await bot.get_me()).username == "chatgate_bot"


@pytest.mark.asyncio
async def test_polling_survives_an_outage_but_not_at_startup(emu: TelegramEmulator, bot: Bot) -> None:
    dp = Dispatcher()
    seen: list[str] = []

    @dp.message()
    async def remember(message: Message) -> None:
        seen.append(message.text or "")

    emu.set_down(True)
    # start_polling's initial getMe is not retried: an outage at startup ends polling.
    with pytest.raises(TelegramServerError):
        await dp.start_polling(bot, handle_signals=False, close_bot_session=False)
    emu.set_down(False)

    async with polling(emu, dp, bot):
        emu.set_down(True)
        await emu.wait_for(lambda: emu.calls_to("getUpdates")[-1].status == 502, timeout=5)
        emu.set_down(False)
        emu.push_message(TOKEN, chat_id=USER_CHAT, text="after outage")
        await emu.wait_for(lambda: seen == ["after outage"], timeout=10)


@pytest.mark.asyncio
async def test_supergroup_topic_message_with_mention(emu: TelegramEmulator, bot: Bot) -> None:
    dp = Dispatcher()
    received: list[Message] = []

    @dp.message()
    async def reply(message: Message) -> None:
        received.append(message)
        await message.answer("in topic")

    group = -1001234567890
    update = emu.push_message(
        TOKEN,
        chat_id=group,
        chat_type="supergroup",
        text="hey @chatgate_bot, hi",
        user_id=42,
        message_thread_id=5,
        is_topic_message=True,
    )
    assert update["message"]["entities"] == [{"type": "mention", "offset": 4, "length": 13}]
    command = emu.push_message(TOKEN, chat_id=group, chat_type="supergroup", text="/ask@chatgate_bot why")
    assert command["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 17}]

    async with polling(emu, dp, bot):
        await emu.wait_for(lambda: len(emu.chat_messages(TOKEN, group)) == 2)

    first = received[0]
    assert first.chat.type == "supergroup"
    assert first.chat.is_forum
    assert first.message_thread_id == 5
    assert first.is_topic_message
    assert first.entities is not None
    assert first.entities[0].type == "mention"
    assert emu.chat_messages(TOKEN, group)[0]["message_thread_id"] == 5


@pytest.mark.asyncio
async def test_privacy_mode_can_be_enforced(emu: TelegramEmulator) -> None:
    emu.enforce_privacy_mode = True
    emu.push_message(TOKEN, chat_id=-5, chat_type="group", text="chatter")
    emu.push_message(TOKEN, chat_id=-5, chat_type="group", text="/help")
    emu.push_message(TOKEN, chat_id=-5, chat_type="group", text="hi @ChatGate_Bot")
    emu.push_message(TOKEN, chat_id=USER_CHAT, text="private")
    assert [u["message"]["text"] for u in emu.pending_updates(TOKEN)] == [
        "/help",
        "hi @ChatGate_Bot",
        "private",
    ]


@pytest.mark.asyncio
async def test_protocol_edges(emu: TelegramEmulator, bot: Bot) -> None:
    with pytest.raises(TelegramUnauthorizedError):
        await make_bot(emu, "999:unknown").get_me()

    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emu.base_url}/bot{TOKEN}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        body: dict[str, Any] = {
            "chat_id": USER_CHAT,
            "text": "json body",
            "reply_markup": {"inline_keyboard": []},
        }
        async with http.post(f"{emu.base_url}/bot{TOKEN}/SENDMESSAGE", json=body) as resp:
            answer = await resp.json()
            assert resp.status == 200
            assert answer["ok"] is True
            assert answer["result"]["text"] == "json body"
    assert emu.calls_to("sendmessage")[0].method == "SENDMESSAGE"


@pytest.mark.asyncio
async def test_wait_for_explains_a_timeout(emu: TelegramEmulator) -> None:
    with pytest.raises(AssertionError, match="wait_for timed out"):
        await emu.wait_for(lambda: False, timeout=0.05)


@pytest.mark.asyncio
async def test_throughput_through_polling(emu: TelegramEmulator, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    async with polling(emu, dp, bot):
        started = time.monotonic()
        for i in range(500):
            emu.push_message(TOKEN, chat_id=10_000 + i % 50, user_id=10_000 + i % 50, text=f"n{i}")
        await emu.wait_for(lambda: len(emu.calls_to("sendMessage")) == 500, timeout=20)
        elapsed = time.monotonic() - started
    assert elapsed < 10, f"500 round trips took {elapsed:.1f}s"


@pytest.mark.asyncio
async def test_an_abandoned_long_poll_does_not_block_a_restart(emu: TelegramEmulator, bot: Bot) -> None:
    for _ in range(5):
        abandoned = asyncio.create_task(bot.get_updates(timeout=10))
        await emu.wait_for(lambda: emu.bots[TOKEN].poller is not None)
        abandoned.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await abandoned
        assert await bot.get_updates(timeout=0) == []

    dp = Dispatcher()
    async with polling(emu, dp, bot):
        pass
    async with polling(emu, dp, bot):  # restarting right away is not a conflict
        emu.push_message(TOKEN, chat_id=USER_CHAT, text="again")
        await emu.wait_for(lambda: not emu.pending_updates(TOKEN))
    assert all(call.status != 409 for call in emu.calls)


def _keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in row] for row in rows]
    )


@pytest.mark.asyncio
async def test_an_inline_keyboard_is_kept_on_the_message_and_edited_away(
    emu: TelegramEmulator, bot: Bot
) -> None:
    sent = await bot.send_message(
        USER_CHAT, "Which size?", reply_markup=_keyboard([("Small", "q:1:s")], [("Large", "q:1:l")])
    )
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[1][0].callback_data == "q:1:l"
    rows = emu.keyboard(TOKEN, USER_CHAT, sent.message_id)
    assert [[b["text"] for b in row] for row in rows] == [["Small"], ["Large"]]

    # editMessageReplyMarkup changes only the keyboard; the same one again is "not modified".
    await bot.edit_message_reply_markup(
        chat_id=USER_CHAT, message_id=sent.message_id, reply_markup=_keyboard([("Small", "q:1:s")])
    )
    assert len(emu.keyboard(TOKEN, USER_CHAT, sent.message_id)) == 1
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=USER_CHAT, message_id=sent.message_id, reply_markup=_keyboard([("Small", "q:1:s")])
        )
    # editMessageText keeps a keyboard only when it is given again, as Telegram does.
    await bot.edit_message_text(
        "Which size? (still)",
        chat_id=USER_CHAT,
        message_id=sent.message_id,
        reply_markup=_keyboard([("Small", "q:1:s")]),
    )
    assert len(emu.keyboard(TOKEN, USER_CHAT, sent.message_id)) == 1
    await bot.edit_message_text("Which size?\n\n→ Small", chat_id=USER_CHAT, message_id=sent.message_id)
    assert emu.keyboard(TOKEN, USER_CHAT, sent.message_id) == []
    [shown] = emu.chat_messages(TOKEN, USER_CHAT)
    assert shown["text"] == "Which size?\n\n→ Small"
    assert "reply_markup" not in shown
    assert shown["edits"] == 3


@pytest.mark.asyncio
async def test_a_malformed_keyboard_is_refused_like_telegram_does(emu: TelegramEmulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER_CHAT, "too long", reply_markup=_keyboard([("A", "x" * 65)]))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER_CHAT, "multibyte", reply_markup=_keyboard([("A", "é" * 33)]))
    await bot.send_message(USER_CHAT, "64 bytes fit", reply_markup=_keyboard([("A", "é" * 32)]))
    with pytest.raises(TelegramBadRequest, match="REPLY_MARKUP_TOO_LONG"):
        await bot.send_message(
            USER_CHAT, "101", reply_markup=_keyboard(*[[(str(i), str(i))] for i in range(101)])
        )
    async with aiohttp.ClientSession() as http:

        async def send(markup: Any) -> tuple[int, str]:
            body = {"chat_id": USER_CHAT, "text": "raw", "reply_markup": markup}
            async with http.post(f"{emu.base_url}/bot{TOKEN}/sendMessage", json=body) as resp:
                return resp.status, (await resp.json()).get("description", "")

        assert await send({"inline_keyboard": [[{"text": "A", "callback_data": ""}]]}) == (
            400,
            "Bad Request: BUTTON_DATA_INVALID",
        )
        status, why = await send({"inline_keyboard": [[{"callback_data": "a"}]]})
        assert (status, "text" in why) == (400, True)
        status, why = await send({"inline_keyboard": [[{"text": "A"}]]})
        assert (status, why) == (400, "Bad Request: text buttons are unallowed in the inline keyboard")
        status, why = await send({"inline_keyboard": [{"text": "A", "callback_data": "a"}]})
        assert (status, "Array" in why) == (400, True)
        status, why = await send("not json")
        assert (status, "reply keyboard markup" in why) == (400, True)
    # Nothing refused reached the chat.
    assert [m["text"] for m in emu.chat_messages(TOKEN, USER_CHAT)] == ["64 bytes fit"]


@pytest.mark.asyncio
async def test_a_button_press_arrives_as_a_callback_query_answered_once(
    emu: TelegramEmulator, bot: Bot
) -> None:
    sent = await bot.send_message(USER_CHAT, "Which size?", reply_markup=_keyboard([("Small", "q:1:s")]))
    pushed = emu.push_callback_query(TOKEN, USER_CHAT, 1001, sent.message_id, "q:1:s")

    [update] = await bot.get_updates(allowed_updates=["message", "callback_query"])
    press = update.callback_query
    assert press is not None
    assert press.id == pushed["callback_query"]["id"]
    assert press.data == "q:1:s"
    assert press.from_user.id == 1001
    assert press.chat_instance
    assert isinstance(press.message, Message)
    assert press.message.message_id == sent.message_id
    assert press.message.reply_markup is not None  # the message as it was pressed

    assert await bot.answer_callback_query(press.id, text="Only Ann can answer this question.")
    assert emu.toasts(TOKEN) == ["Only Ann can answer this question."]
    assert emu.answers_to(pushed)[0]["callback_query_id"] == press.id
    too_old = "query is too old and response timeout expired or query ID is invalid"
    with pytest.raises(TelegramBadRequest, match=too_old):
        await bot.answer_callback_query(press.id)  # twice
    with pytest.raises(TelegramBadRequest, match=too_old):
        await bot.answer_callback_query("12345")  # never handed out
    with pytest.raises(ValueError, match="no message 999"):
        emu.push_callback_query(TOKEN, USER_CHAT, 1001, 999, "q:1:s")

    second = emu.push_callback_query(
        TOKEN, USER_CHAT, {"id": 7, "is_bot": False, "first_name": "Bo"}, sent.message_id, "q:1:s"
    )
    assert second["callback_query"]["id"] != press.id
    await bot.answer_callback_query(second["callback_query"]["id"])  # no text: no toast
    assert emu.toasts(TOKEN) == ["Only Ann can answer this question.", ""]


@pytest.mark.asyncio
async def test_a_late_answer_is_refused_when_enabled(emu: TelegramEmulator, bot: Bot) -> None:
    emu.callback_answer_within_s = 0.05
    sent = await bot.send_message(USER_CHAT, "Which?", reply_markup=_keyboard([("A", "a")]))
    update = emu.push_callback_query(TOKEN, USER_CHAT, 1001, sent.message_id, "a")
    await asyncio.sleep(0.1)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(update["callback_query"]["id"])


@pytest.mark.asyncio
async def test_get_updates_hands_out_only_the_allowed_update_types(emu: TelegramEmulator, bot: Bot) -> None:
    sent = await bot.send_message(USER_CHAT, "Which?", reply_markup=_keyboard([("A", "a")]))
    emu.push_callback_query(TOKEN, USER_CHAT, 1001, sent.message_id, "a")
    emu.push_message(TOKEN, chat_id=USER_CHAT, text="typed")
    updates = await bot.get_updates(allowed_updates=["message"])
    assert [u.event_type for u in updates] == ["message"]

    emu.push_callback_query(TOKEN, USER_CHAT, 1001, sent.message_id, "a")
    updates = await bot.get_updates(offset=updates[-1].update_id + 1, allowed_updates=["callback_query"])
    assert [u.event_type for u in updates] == ["callback_query"]


@pytest.mark.asyncio
async def test_a_users_files_are_got_and_downloaded(emu: TelegramEmulator, bot: Bot) -> None:
    emu.push_file_message(
        TOKEN, chat_id=USER_CHAT, photo=[b"s" * 10, b"m" * 100, b"l" * 1000], caption="look"
    )
    emu.push_file_message(TOKEN, chat_id=USER_CHAT, document=("report.pdf", "application/pdf", b"%PDF-1.7"))
    emu.push_file_message(TOKEN, chat_id=USER_CHAT, voice=b"OggS voice", audio=None)
    photo, document, voice = [u.message for u in await bot.get_updates()]
    assert photo is not None
    assert photo.photo is not None
    assert photo.caption == "look"
    assert [size.file_size for size in photo.photo] == [10, 100, 1000]
    assert document is not None
    assert document.document is not None
    assert (document.document.file_name, document.document.mime_type) == ("report.pdf", "application/pdf")
    assert voice is not None
    assert voice.voice is not None

    file = await bot.get_file(photo.photo[-1].file_id)
    assert file.file_size == 1000
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None
    assert downloaded.read() == b"l" * 1000
    got = await bot.download(document.document.file_id)
    assert got is not None
    assert got.read() == b"%PDF-1.7"

    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("no-such-file")
    emu.download_limit_bytes = 999
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(photo.photo[-1].file_id)
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{emu.base_url}/file/bot{TOKEN}/photos/nothing.jpg") as resp,
    ):
        assert resp.status == 404


@pytest.mark.asyncio
async def test_the_bot_sends_photos_documents_and_albums(emu: TelegramEmulator, bot: Bot) -> None:
    png = BufferedInputFile(b"\x89PNG picture", filename="chart.png")
    photo = await bot.send_photo(USER_CHAT, png, caption="<b>Sales</b>", parse_mode="HTML")
    assert photo.photo is not None
    assert photo.caption == "Sales"
    doc = await bot.send_document(USER_CHAT, BufferedInputFile(b"a,b\n1,2\n", filename="data.csv"))
    assert doc.document is not None
    assert doc.document.file_name == "data.csv"
    album = await bot.send_media_group(
        USER_CHAT,
        [
            InputMediaPhoto(media=BufferedInputFile(b"one", filename="1.jpg"), caption="first"),
            InputMediaPhoto(media=BufferedInputFile(b"two", filename="2.jpg")),
        ],
    )
    assert len(album) == 2
    assert album[0].media_group_id is not None
    assert album[0].media_group_id == album[1].media_group_id
    # A file the bot got can be sent again by its file_id, without uploading it.
    await bot.send_document(USER_CHAT, doc.document.file_id)

    sent = emu.sent_files(TOKEN, USER_CHAT)
    assert [(f["kind"], f["name"], f["data"], f["caption"]) for f in sent] == [
        ("photo", "chart.png", b"\x89PNG picture", "Sales"),
        ("document", "data.csv", b"a,b\n1,2\n", None),
        ("photo", "1.jpg", b"one", "first"),
        ("photo", "2.jpg", b"two", None),
        ("document", "data.csv", b"a,b\n1,2\n", None),
    ]


@pytest.mark.asyncio
async def test_files_are_refused_like_telegram_does(emu: TelegramEmulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(USER_CHAT, BufferedInputFile(b"x", filename="x.jpg"), caption="c" * 1025)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(USER_CHAT, "not-a-known-file-id")
    with pytest.raises(TelegramBadRequest, match="2-10"):
        await bot.send_media_group(
            USER_CHAT, [InputMediaPhoto(media=BufferedInputFile(b"1", filename="1.jpg"))]
        )
    mixed = [
        InputMediaPhoto(media=BufferedInputFile(b"1", filename="1.jpg")),
        InputMediaDocument(media=BufferedInputFile(b"2", filename="2.txt")),
    ]
    with pytest.raises(TelegramBadRequest, match="together"):
        await bot.send_media_group(USER_CHAT, mixed)
    with pytest.raises(TelegramEntityTooLarge):
        await bot.send_photo(USER_CHAT, BufferedInputFile(b"x" * (10 * 1024 * 1024 + 1), filename="big.jpg"))
    assert emu.sent_files(TOKEN, USER_CHAT) == []  # nothing refused reached the chat
