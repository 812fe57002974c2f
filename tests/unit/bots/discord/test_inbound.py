"""Which Discord messages are for the bot: read_message on discord.py's own objects, built from
the payloads the gateway sends (a client's connection state, never connected)."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from bots.discord.inbound import Trigger, read_message

BOT_ID, GUILD, CHANNEL, ALICE, BOB = 900, 500, 501, 1001, 1002


def user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "avatar": None, "bot": bot}


class Place:
    """A guild with one text channel and a DM, as the bot's client state knows them."""

    def __init__(self) -> None:
        self.state = discord.Client(intents=discord.Intents.default())._connection
        self.me = discord.ClientUser(state=self.state, data=user(BOT_ID, "chatgate", bot=True))
        self.state.user = self.me
        guild_data = {"id": str(GUILD), "name": "team", "roles": [], "channels": [], "members": []}
        self.guild = discord.Guild(data=guild_data, state=self.state)
        channel_data = {
            "id": str(CHANNEL),
            "type": 0,
            "name": "general",
            "position": 0,
            "guild_id": str(GUILD),
        }
        self.channel = discord.TextChannel(state=self.state, guild=self.guild, data=channel_data)
        self.guild._add_channel(self.channel)
        self.state._add_guild(self.guild)

    def message(
        self, content: str, *, author: dict[str, Any] | None = None, dm: bool = False, **data: Any
    ) -> discord.Message:
        author = author or user(ALICE, "alice")
        payload: dict[str, Any] = {
            "id": "77",
            "type": 0,
            "content": content,
            "author": author,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "timestamp": "2026-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "pinned": False,
            **data,
        }
        channel: discord.abc.Messageable
        if dm:
            payload["channel_id"] = str(70_000 + int(author["id"]))
            dm_data = {"id": payload["channel_id"], "type": 1, "recipients": [author]}
            channel = discord.DMChannel(me=self.me, state=self.state, data=dm_data)
        else:
            payload |= {"channel_id": str(CHANNEL), "guild_id": str(GUILD)}
            channel = self.channel
        return discord.Message(state=self.state, channel=channel, data=payload)

    def read(self, message: discord.Message, **options: Any) -> Trigger | None:
        return read_message(
            message,
            self.me,
            bot="dc",
            scope=options.get("scope", "chat"),
            reply_in_thread=options.get("thread", False),
        )


@pytest.fixture
def place() -> Place:
    return Place()


def test_a_dm_is_always_a_question_in_the_users_session(place: Place) -> None:
    trigger = place.read(place.message("what are your hours?", dm=True))
    assert trigger == Trigger(
        "what are your hours?", "discord:dc:dm:1001", opens_thread=False, has_files=False
    )


def test_a_guild_message_without_a_mention_is_not_for_the_bot(place: Place) -> None:
    assert place.read(place.message("lunch at noon?")) is None


def test_a_mention_is_a_question_without_it_and_other_mentions_become_names(place: Place) -> None:
    mentions = [user(BOT_ID, "chatgate", bot=True), user(BOB, "bob")]
    trigger = place.read(place.message(f"<@{BOT_ID}> ask <@{BOB}> too", mentions=mentions))
    assert trigger is not None
    assert trigger.text == "ask @bob too"
    assert trigger.session_id == "discord:dc:501"


def test_session_scope_user_gives_each_member_of_a_channel_a_session(place: Place) -> None:
    mentions = [user(BOT_ID, "chatgate", bot=True)]
    trigger = place.read(place.message(f"<@{BOT_ID}> hi", mentions=mentions), scope="user")
    assert trigger is not None
    assert trigger.session_id == "discord:dc:501:user:1001"


def test_reply_in_thread_opens_a_thread_named_after_the_message(place: Place) -> None:
    mentions = [user(BOT_ID, "chatgate", bot=True)]
    trigger = place.read(place.message(f"<@{BOT_ID}> hi", mentions=mentions), thread=True)
    assert trigger is not None
    assert trigger.opens_thread
    assert trigger.session_id == "discord:dc:77"


def test_messages_of_bots_and_webhooks_are_never_answered(place: Place) -> None:
    assert place.read(place.message("hello", author=user(BOB, "otherbot", bot=True), dm=True)) is None
    mentions = [user(BOT_ID, "chatgate", bot=True)]
    assert place.read(place.message(f"<@{BOT_ID}> hi", mentions=mentions, webhook_id="3")) is None


def test_an_attachment_is_flagged_as_files(place: Place) -> None:
    attachment = {"id": "5", "filename": "a.png", "size": 1, "url": "u", "proxy_url": "p"}
    trigger = place.read(place.message("", dm=True, attachments=[attachment]))
    assert trigger is not None
    assert trigger.has_files
    assert trigger.text == ""
