"""Which Telegram messages the bot answers, and as what: the group rules, the
commands, the session keys. Pure functions of (update, bot identity, settings).

A button press (a callback query) is read as a message from the presser in that chat
would be: same session, same user.

Sessions: a private chat is ``telegram:<bot>:<chat_id>``; a group is one
conversation per chat, per forum topic (``telegram:<bot>:<chat_id>:<thread_id>``)
or, with ``session_scope: user``, per member (``…:user:<user_id>``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal

from aiogram.enums import ContentType
from aiogram.types import CallbackQuery, Chat, Message, MessageEntity, Update

from bots.base import Incoming, incoming
from bots.telegram.attachments import SentMedia, sent_media
from bots.telegram.target import Target
from config.platforms.telegram import TelegramBotSettings

Kind = Literal["ask", "start", "help", "reset", "non_text", "ask_usage", "press"]
COMMANDS: dict[str, Kind] = {"start": "start", "help": "help", "reset": "reset", "ask": "ask"}
_COMMAND_RE = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?=\s|$)\s*(.*)$", re.DOTALL)

# Messages a person sent that we can't read: they get a short note. Service
# messages (members joining, pins, topic edits, ...) are ignored silently.
_USER_CONTENT = frozenset(
    {
        ContentType.ANIMATION,
        ContentType.AUDIO,
        ContentType.DOCUMENT,
        ContentType.PHOTO,
        ContentType.STICKER,
        ContentType.VIDEO,
        ContentType.VIDEO_NOTE,
        ContentType.VOICE,
        ContentType.CONTACT,
        ContentType.DICE,
        ContentType.POLL,
        ContentType.VENUE,
        ContentType.LOCATION,
        ContentType.STORY,
        ContentType.PAID_MEDIA,
        ContentType.CHECKLIST,
        ContentType.LIVE_PHOTO,
    }
)


@dataclass(frozen=True, slots=True)
class Me:
    """The bot's own identity, from getMe."""

    id: int
    username: str


@dataclass(frozen=True, slots=True)
class Press:
    """A button press (a callback query): what to acknowledge, and the question it answers."""

    query_id: str  # answerCallbackQuery's callback_query_id
    key: str  # the button's callback_data
    message_id: int  # the question's message (the one with the buttons)
    question_html: str | None  # that message's text as HTML; None when Telegram no longer shows it


@dataclass(frozen=True, slots=True)
class Job:
    """One update the bot will act on."""

    update_id: int
    kind: Kind
    incoming: Incoming
    target: Target
    date: float  # when the user sent it (unix seconds; a press: when it was read)
    press: Press | None = None  # for kind "press"
    media: SentMedia | None = None  # the file sent with the message (kind "ask")


def read_update(update: Update, me: Me, settings: TelegramBotSettings) -> Job | None:
    """The job for an update, or None when the bot must stay silent."""
    if update.callback_query is not None:
        return _read_press(update.update_id, update.callback_query, settings)
    msg = update.message
    if msg is None or msg.chat.type not in ("private", "group", "supergroup"):
        return None
    user_id = _speaker(msg)
    if user_id is None:
        return None
    private = msg.chat.type == "private"
    text, entities = (msg.text, msg.entities) if msg.text is not None else (msg.caption, msg.caption_entities)
    read = _kind(msg, text, entities, me, private)
    if read is None:
        return None
    kind, text = read
    media = sent_media(msg) if kind in ("ask", "ask_usage", "non_text") else None
    if media is not None:
        kind = "ask"  # the file is the question, or goes with its caption

    thread_id = msg.message_thread_id if msg.is_topic_message else None
    message = incoming(
        "telegram",
        bot=settings.name,
        session_id=_session_id(settings, msg.chat, thread_id, user_id),
        user_id=user_id,
        place=f"chat:{msg.chat.id}",
        text=text or "",
        dedup_key=str(update.update_id),
        private=private,
        sent_at=msg.date.timestamp(),
        user_name=_speaker_name(msg),
        chat_id=msg.chat.id,
    )
    target = Target(
        chat_id=msg.chat.id,
        private=private,
        thread_id=thread_id,
        reply_to=None if private else msg.message_id,
        draft_id=(msg.message_id % 100_000_000) * 16 + 1,
    )
    return Job(update.update_id, kind, message, target, msg.date.timestamp(), media=media)


def _session_id(settings: TelegramBotSettings, chat: Chat, thread_id: int | None, user_id: int) -> str:
    session = f"telegram:{settings.name}:{chat.id}"
    if chat.type != "private":
        if thread_id is not None and chat.is_forum:
            session += f":{thread_id}"
        if settings.session_scope == "user":
            session += f":user:{user_id}"
    return session


def _read_press(update_id: int, query: CallbackQuery, settings: TelegramBotSettings) -> Job | None:
    """A press of one of the bot's buttons, read as a message from the presser in that chat
    would be (its session, its user); its text is the pressed button's label."""
    shown = query.message
    if not query.data or shown is None or query.from_user.is_bot:
        return None
    chat = shown.chat
    if chat.type not in ("private", "group", "supergroup"):
        return None
    private = chat.type == "private"
    # Telegram no longer shows a message older than 48 hours to bots: then only its chat is known.
    msg = shown if isinstance(shown, Message) else None
    thread_id = msg.message_thread_id if msg is not None and msg.is_topic_message else None
    user = query.from_user
    message = incoming(
        "telegram",
        bot=settings.name,
        session_id=_session_id(settings, chat, thread_id, user.id),
        user_id=user.id,
        place=f"chat:{chat.id}",
        text=_pressed_label(msg, query.data),
        dedup_key=f"cb:{query.id}",
        private=private,
        # The press came after its question was sent: a lower bound that lets the seen keys
        # skip storage for a question asked since this process started (bots.delivery.claims).
        sent_at=msg.date.timestamp() if msg is not None else 0.0,
        user_name=user.full_name,
        chat_id=chat.id,
    )
    target = Target(
        chat_id=chat.id,
        private=private,
        thread_id=thread_id,
        reply_to=None if private else shown.message_id,
        draft_id=(shown.message_id % 100_000_000) * 16 + 9,
    )
    press = Press(query.id, query.data, shown.message_id, msg.html_text if msg is not None else None)
    return Job(update_id, "press", message, target, time.time(), press)


def _pressed_label(msg: Message | None, data: str) -> str:
    """The label of the button the press names, on the message as it was pressed ("" when gone)."""
    markup = msg.reply_markup if msg is not None else None
    for row in markup.inline_keyboard if markup is not None else []:
        for button in row:
            if button.callback_data == data:
                return button.text
    return ""


def _speaker_name(msg: Message) -> str | None:
    """How the speaker is called: a person's name, or the title of the chat speaking."""
    if msg.sender_chat is not None:
        return msg.sender_chat.title or msg.sender_chat.username
    return msg.from_user.full_name if msg.from_user is not None else None


def _speaker(msg: Message) -> int | None:
    """Who speaks: a person, an anonymous admin or a channel; None for other bots (answering
    them invites loops)."""
    if msg.sender_chat is not None:
        return msg.sender_chat.id
    sender = msg.from_user
    if sender is not None and not sender.is_bot:
        return sender.id
    return None


def _kind(
    msg: Message, text: str | None, entities: list[MessageEntity] | None, me: Me, private: bool
) -> tuple[Kind, str | None] | None:
    """What the message asks of the bot, and its text as the bot reads it; None: not for us."""
    kind: Kind | None
    if text is not None and text.startswith("/"):
        kind, text = _command(text, me, private)
    elif private:
        kind = "ask" if text else None
    elif _addressed(msg, entities, me):
        text = _strip_mentions(text or "", entities, me) if text else text
        kind = "ask" if text else ("start" if msg.text is not None or msg.caption is not None else None)
    else:
        return None
    if kind is None:
        if msg.content_type in _USER_CONTENT and (private or _replies_to_me(msg, me)):
            return "non_text", text
        return None
    if kind == "ask" and not text:
        return "ask_usage", text
    return kind, text


def _command(text: str, me: Me, private: bool) -> tuple[Kind | None, str]:
    match = _COMMAND_RE.match(text)
    if match is None:
        return ("ask" if private else None), text
    name, addressee, rest = match.group(1).lower(), match.group(2), match.group(3).strip()
    if addressee is not None and addressee.lower() != me.username.lower():
        return None, text  # another bot's command
    kind = COMMANDS.get(name)
    if kind is not None:
        return kind, rest
    if private:
        return "ask", text  # "/usr/bin …" in a private chat is a question, not a command
    # In a group an unknown command is another bot's unless it names us.
    return ("help" if addressee is not None else None), text


def _replies_to_me(msg: Message, me: Me) -> bool:
    replied = msg.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != me.id:
        return False
    # In forum topics every message "replies" to the topic's first message.
    return not (msg.is_topic_message and replied.message_id == msg.message_thread_id)


def _mentions(entities: list[MessageEntity] | None, text: str, me: Me) -> list[tuple[int, int]]:
    """UTF-16 (offset, end) of each mention of the bot."""
    found: list[tuple[int, int]] = []
    units = text.encode("utf-16-le")
    for e in entities or []:
        if e.type == "mention":
            name = units[2 * e.offset : 2 * (e.offset + e.length)].decode("utf-16-le", "replace")
            if name.lower() == "@" + me.username.lower():
                found.append((e.offset, e.offset + e.length))
        elif e.type == "text_mention" and e.user is not None and e.user.id == me.id:
            found.append((e.offset, e.offset + e.length))
    return found


def _addressed(msg: Message, entities: list[MessageEntity] | None, me: Me) -> bool:
    text = msg.text if msg.text is not None else (msg.caption or "")
    return bool(_mentions(entities, text, me)) or _replies_to_me(msg, me)


def _strip_mentions(text: str, entities: list[MessageEntity] | None, me: Me) -> str:
    units = text.encode("utf-16-le")
    for start, end in sorted(_mentions(entities, text, me), reverse=True):
        units = units[: 2 * start] + units[2 * end :]
    stripped = units.decode("utf-16-le", "replace")
    return re.sub(r"[ \t]{2,}", " ", stripped).strip(" \t\n,:")
