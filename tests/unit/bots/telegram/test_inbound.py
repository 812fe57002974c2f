"""Which Telegram updates the bot answers, and as what: read_update on updates as the Bot API sends them."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.types import Update

from bots.telegram.inbound import Job, Me, read_update
from config.platforms.telegram import TelegramBotSettings
from tests.support.telegram import TOKEN

ME = Me(id=424242, username="chatgate_bot")
ALICE = {"id": 1001, "is_bot": False, "first_name": "Alice"}
GROUP = {"id": -100200, "type": "supergroup", "title": "Team"}


def settings(**changes: Any) -> TelegramBotSettings:
    return TelegramBotSettings.model_validate(
        {"name": "tg", "platform": "telegram", "token": TOKEN, "workflow": "support_bot", **changes}
    )


def update(chat: dict[str, Any] | None = None, **message: Any) -> Update:
    """One message update; a private chat with Alice unless ``chat`` says otherwise."""
    body = {"message_id": 7, "date": 1_700_000_000, "chat": chat or {"id": 1001, "type": "private"}}
    body.setdefault("from", ALICE)
    return Update.model_validate({"update_id": 55, "message": {**body, **message}})


def read(upd: Update, **changes: Any) -> Job | None:
    return read_update(upd, ME, settings(**changes))


def test_a_private_message_is_a_question_in_the_chats_session() -> None:
    job = read(update(text="What are your hours?"))
    assert job is not None
    assert job.kind == "ask"
    assert job.update_id == 55
    assert job.incoming.text == "What are your hours?"
    assert job.incoming.session_id == "telegram:tg:1001"
    assert job.incoming.user_key == "telegram:1001"
    assert job.incoming.dedup_key == "55"
    assert job.incoming.private
    assert job.target.chat_id == 1001
    assert job.target.reply_to is None
    assert job.date == 1_700_000_000


@pytest.mark.parametrize(
    ("text", "kind", "rest"),
    [
        ("/start", "start", ""),
        ("/help", "help", ""),
        ("/reset", "reset", ""),
        ("/ask how much?", "ask", "how much?"),
        ("/ask", "ask_usage", ""),
        ("/usr/bin is where?", "ask", "/usr/bin is where?"),
    ],
)
def test_commands_in_a_private_chat(text: str, kind: str, rest: str) -> None:
    job = read(update(text=text))
    assert job is not None
    assert (job.kind, job.incoming.text) == (kind, rest)


def test_a_group_message_not_addressed_to_the_bot_is_ignored() -> None:
    assert read(update(GROUP, text="lunch at noon?")) is None
    assert read(update(GROUP, text="/start@other_bot")) is None


def test_a_mention_in_a_group_is_a_question_without_the_mention() -> None:
    text = "@chatgate_bot when do you open?"
    job = read(update(GROUP, text=text, entities=[{"type": "mention", "offset": 0, "length": 13}]))
    assert job is not None
    assert job.kind == "ask"
    assert job.incoming.text == "when do you open?"
    assert job.incoming.session_id == "telegram:tg:-100200"
    assert not job.incoming.private
    assert job.target.reply_to == 7


def test_a_reply_to_the_bot_in_a_group_is_a_question() -> None:
    replied = {"message_id": 3, "date": 1_699_999_999, "chat": GROUP, "from": {**ALICE, "id": ME.id}}
    job = read(update(GROUP, text="and on sundays?", reply_to_message=replied))
    assert job is not None
    assert (job.kind, job.incoming.text) == ("ask", "and on sundays?")


def test_a_forum_topic_and_session_scope_user_make_their_own_sessions() -> None:
    forum = {**GROUP, "is_forum": True}
    mention = [{"type": "mention", "offset": 0, "length": 13}]
    topic = update(
        forum, text="@chatgate_bot hi", entities=mention, message_thread_id=9, is_topic_message=True
    )
    job = read(topic, session_scope="user")
    assert job is not None
    assert job.incoming.session_id == "telegram:tg:-100200:9:user:1001"
    assert job.target.thread_id == 9


def test_messages_from_bots_are_never_answered() -> None:
    assert read(update(text="hello", **{"from": {**ALICE, "is_bot": True}})) is None


def test_a_photo_in_a_private_chat_is_a_question_with_its_file() -> None:
    small = {"file_id": "f90", "file_unique_id": "u90", "width": 90, "height": 90, "file_size": 900}
    large = {"file_id": "f800", "file_unique_id": "u800", "width": 800, "height": 800, "file_size": 8000}
    job = read(update(photo=[small, large], caption="my cat"))
    assert job is not None
    assert job.kind == "ask"
    assert job.incoming.text == "my cat"
    assert job.media is not None
    assert job.media.kind == "photo"
    assert job.media.choices == (("f90", 900), ("f800", 8000))  # the router's limit picks one


def test_a_sticker_in_a_private_chat_gets_the_non_text_note() -> None:
    sticker = {
        "file_id": "s", "file_unique_id": "u", "type": "regular", "width": 512, "height": 512,
        "is_animated": False, "is_video": False,
    }  # fmt: skip
    job = read(update(sticker=sticker))
    assert job is not None
    assert job.kind == "non_text"
    assert job.media is None


def test_an_update_without_a_message_is_ignored() -> None:
    assert read_update(Update.model_validate({"update_id": 1}), ME, settings()) is None


BOT_USER = {"id": 424242, "is_bot": True, "first_name": "Chatgate", "username": "chatgate_bot"}
KEYBOARD = {"inline_keyboard": [[{"text": "Small cup", "callback_data": "q:ab:0"}]]}


def press(chat: dict[str, Any] | None = None, data: str = "q:ab:0", **question: Any) -> Update:
    """Alice presses a button under the bot's question (message 12); a private chat unless ``chat``."""
    message = {
        "message_id": 12,
        "date": 1_700_000_100,
        "chat": chat or {"id": 1001, "type": "private"},
        "from": BOT_USER,
        "text": "Which size?",
        "reply_markup": KEYBOARD,
        **question,
    }
    query = {"id": "9001", "from": ALICE, "message": message, "chat_instance": "-5", "data": data}
    return Update.model_validate({"update_id": 56, "callback_query": query})


def test_a_button_press_is_read_as_a_message_from_the_presser_in_that_chat() -> None:
    job = read(press())
    assert job is not None
    assert job.kind == "press"
    assert job.incoming.session_id == "telegram:tg:1001"  # as a text message there would be
    assert job.incoming.user_key == "telegram:1001"
    assert job.incoming.text == "Small cup"  # the pressed button's label
    assert job.incoming.dedup_key == "cb:9001"  # never a message's key
    assert job.press is not None
    assert (job.press.query_id, job.press.key, job.press.message_id) == ("9001", "q:ab:0", 12)
    assert job.press.question_html == "Which size?"
    assert job.target.reply_to is None


def test_a_press_in_a_forum_topic_with_per_user_sessions_is_in_the_pressers_session() -> None:
    forum = {**GROUP, "is_forum": True}
    job = read(press(forum, message_thread_id=9, is_topic_message=True), session_scope="user")
    assert job is not None
    assert job.incoming.session_id == "telegram:tg:-100200:9:user:1001"
    assert job.target.thread_id == 9
    assert job.target.reply_to == 12  # the continuation answers under the question


def test_a_press_on_a_button_no_longer_shown_has_no_label() -> None:
    job = read(press(data="q:gone:1"))
    assert job is not None
    assert job.incoming.text == ""
    assert job.press is not None
    assert job.press.key == "q:gone:1"


def test_a_press_on_a_message_too_old_to_show_still_names_its_chat() -> None:
    old = {"message_id": 12, "date": 0, "chat": {"id": 1001, "type": "private"}}
    query = {"id": "9002", "from": ALICE, "message": old, "chat_instance": "-5", "data": "q:ab:0"}
    job = read(Update.model_validate({"update_id": 57, "callback_query": query}))
    assert job is not None
    assert job.incoming.session_id == "telegram:tg:1001"
    assert job.press is not None
    assert job.press.question_html is None


def test_a_press_without_data_or_message_is_ignored() -> None:
    inline = {"id": "9003", "from": ALICE, "inline_message_id": "x", "chat_instance": "-5", "data": "d"}
    assert read(Update.model_validate({"update_id": 58, "callback_query": inline})) is None
    game = {"id": "9004", "from": ALICE, "chat_instance": "-5", "game_short_name": "g"}
    assert read(Update.model_validate({"update_id": 59, "callback_query": game})) is None
