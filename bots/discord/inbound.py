"""Which Discord messages are meant for the bot, what they say, whose session they belong
to, and the `Incoming` they become (messages and slash commands alike).

Pure decisions on discord.py objects (no I/O), so the adapter stays about wiring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import discord

from bots.base import Incoming, incoming
from bots.discord.attachments import sent_files

# Message types a person writes; joins, pins, thread-created notices and the like are not questions.
_USER_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})
_THREAD_TYPES = frozenset(
    {discord.ChannelType.public_thread, discord.ChannelType.private_thread, discord.ChannelType.news_thread}
)


@dataclass(frozen=True, slots=True)
class Trigger:
    text: str  # the question, our own mention stripped ("" = a bare mention)
    session_id: str
    opens_thread: bool  # reply_in_thread: answer in a new thread on the asking message
    has_files: bool  # attachments or stickers (a sticker alone: nothing we can read)


def session_id(
    bot: str, channel: object, user_id: int, scope: Literal["chat", "user"], *, in_guild: bool
) -> str:
    """DM → one session per user; thread or forum post → its own session; a guild
    channel → one session per channel, or per user in it with ``session_scope: user``."""
    if not in_guild:
        return f"discord:{bot}:dm:{user_id}"
    channel_id: int = getattr(channel, "id", 0)
    # A slash command may carry only a partial channel: its type still tells a thread.
    is_thread = isinstance(channel, discord.Thread) or getattr(channel, "type", None) in _THREAD_TYPES
    if is_thread or scope == "chat":
        return f"discord:{bot}:{channel_id}"
    return f"discord:{bot}:{channel_id}:user:{user_id}"


def thread_session_id(bot: str, thread_id: int) -> str:
    return f"discord:{bot}:{thread_id}"


def read_message(
    message: discord.Message,
    me: discord.ClientUser,
    *,
    bot: str,
    scope: Literal["chat", "user"],
    reply_in_thread: bool,
) -> Trigger | None:
    """The trigger in ``message``, or None when it is not for us (then the model is not called).

    DMs always count. In a guild: a mention of the bot (or of its managed role), a reply
    to one of its messages, or any message in a thread the bot opened (the conversation
    continues there)."""
    if message.author.bot or message.webhook_id is not None or message.type not in _USER_TYPES:
        return None  # never answer bots (ourselves included): two bots would talk forever
    has_files = bool(message.attachments or message.stickers)
    in_guild = message.guild is not None
    channel = message.channel
    if not in_guild:
        sid = session_id(bot, channel, message.author.id, scope, in_guild=False)
        return Trigger(_readable(message, me), sid, False, has_files)
    mentioned = me.id in message.raw_mentions or any(u.id == me.id for u in message.mentions)
    # People often pick the bot's managed role from the @ list by mistake: count it too
    # (looked up only when a role is mentioned at all; the lookup walks the guild's roles).
    role = message.guild.self_role if message.raw_role_mentions and message.guild is not None else None
    if role is not None and role.id in message.raw_role_mentions:
        mentioned = True
    in_own_thread = isinstance(channel, discord.Thread) and channel.owner_id == me.id
    if not (mentioned or _replies_to(message, me) or in_own_thread):
        return None
    text = _readable(message, me, role.id if role is not None else None)
    if in_own_thread and not mentioned and not text and not has_files:
        return None  # no message content intent: an empty message we were not asked about
    opens_thread = (
        reply_in_thread and isinstance(channel, discord.TextChannel)  # not in a DM, thread or forum post
    )
    if opens_thread:
        # A thread started from a message takes the message's id, so its session is known now.
        sid = thread_session_id(bot, message.id)
    else:
        sid = session_id(bot, channel, message.author.id, scope, in_guild=True)
    return Trigger(text, sid, opens_thread, has_files)


def _replies_to(message: discord.Message, me: discord.ClientUser) -> bool:
    ref = message.reference
    if ref is None:
        return False
    resolved = ref.resolved if isinstance(ref.resolved, discord.Message) else ref.cached_message
    return resolved is not None and resolved.author.id == me.id


def _readable(message: discord.Message, me: discord.ClientUser, role_id: int | None = None) -> str:
    """The text with our own mention removed and other people's mentions as @names
    (the model cannot resolve <@123>)."""
    text = re.sub(rf"<@!?{me.id}>", "", message.content)
    if role_id is not None:
        text = text.replace(f"<@&{role_id}>", "")
    for user in message.mentions:
        if user.id != me.id:
            text = re.sub(rf"<@!?{user.id}>", "@" + user.display_name, text)
    return text.strip()


def thread_name(text: str) -> str:
    """A thread title from the question: its first line, at most 80 characters."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first) > 80:
        first = first[:79].rstrip() + "…"
    return first or "Conversation"


def message_incoming(message: discord.Message, trigger: Trigger, *, bot: str) -> Incoming:
    """A message for the bot, with the files attached to it (`bots.discord.attachments`)."""
    return incoming(
        "discord",
        bot=bot,
        session_id=trigger.session_id,
        user_id=message.author.id,
        place=f"channel:{message.channel.id}",
        text=trigger.text,
        dedup_key=str(message.id),
        private=message.guild is None,
        sent_at=message.created_at.timestamp(),
        user_name=message.author.display_name,
        chat_id=message.channel.id,
        files=sent_files(message),
    )


def command_session(
    interaction: discord.Interaction[Any], *, bot: str, scope: Literal["chat", "user"]
) -> str:
    return session_id(
        bot, interaction.channel, interaction.user.id, scope, in_guild=interaction.guild_id is not None
    )


def command_incoming(
    interaction: discord.Interaction[Any], text: str, *, bot: str, scope: Literal["chat", "user"]
) -> Incoming:
    """A slash command's question; not ``private``, so it is never taken for an admin command."""
    return _of_interaction(interaction, text.strip(), f"interaction:{interaction.id}", False, bot, scope)


def press_incoming(
    interaction: discord.Interaction[Any], label: str, *, bot: str, scope: Literal["chat", "user"]
) -> Incoming:
    """A press on a question's button: a message of the presser in that chat saying the
    button's label, claimed once by the interaction's id."""
    private = interaction.guild_id is None
    return _of_interaction(interaction, label, f"ix:{interaction.id}", private, bot, scope)


def _of_interaction(
    interaction: discord.Interaction[Any],
    text: str,
    dedup_key: str,
    private: bool,
    bot: str,
    scope: Literal["chat", "user"],
) -> Incoming:
    return incoming(
        "discord",
        bot=bot,
        session_id=command_session(interaction, bot=bot, scope=scope),
        user_id=interaction.user.id,
        place=f"channel:{interaction.channel_id}",
        text=text,
        dedup_key=dedup_key,
        private=private,
        sent_at=interaction.created_at.timestamp(),
        user_name=interaction.user.display_name,
        chat_id=interaction.channel_id,
    )
