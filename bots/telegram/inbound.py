"""Which Telegram messages the bot answers, and as what: the group rules, the
commands, the session keys. Pure functions of (update, bot identity, settings).

Sessions: a private chat is ``telegram:<bot>:<chat_id>``; a group is one
conversation per chat, per forum topic (``telegram:<bot>:<chat_id>:<thread_id>``)
or, with ``session_scope: user``, per member (``…:user:<user_id>``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from aiogram.enums import ContentType
from aiogram.types import Message, MessageEntity, Update

from bots.base import Incoming, incoming
from bots.telegram.responder import Target
from config.platforms.telegram import TelegramBotSettings

Kind = Literal["ask", "start", "help", "reset", "non_text", "ask_usage"]
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
class Job:
    """One update the bot will act on."""

    update_id: int
    kind: Kind
    incoming: Incoming
    target: Target
    date: float  # when the user sent it (unix seconds)


def read_update(update: Update, me: Me, settings: TelegramBotSettings) -> Job | None:
    """The job for an update, or None when the bot must stay silent."""
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

    thread_id = msg.message_thread_id if msg.is_topic_message else None
    session = f"telegram:{settings.name}:{msg.chat.id}"
    if not private:
        if thread_id is not None and msg.chat.is_forum:
            session += f":{thread_id}"
        if settings.session_scope == "user":
            session += f":user:{user_id}"
    message = incoming(
        "telegram",
        bot=settings.name,
        session_id=session,
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
    return Job(update.update_id, kind, message, target, msg.date.timestamp())


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
