"""What the Discord stories are built from: the test guild's ids, the bot's settings entry,
and ``DiscordBot``, a running chatgate seen as users see it on the Discord emulator."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.emulators.discord.server import DiscordEmulator
from tests.emulators.openai_server import OpenAIEmulator, RecordedRequest
from tests.support.chatgate import ChatgateProcess

TOKEN = "OTAw.discord-test.token-0123456789"  # the dotted shape of a real one
BOT_ID = 900  # the bot's user id, also its application id
GUILD = 500
CHANNEL = 501  # #general
OTHER_CHANNEL = 502
ALICE = 1001
BOB = 1002
MODEL = "gpt-4o-mini"
EPHEMERAL = 1 << 6  # message flag


@dataclass
class DiscordBot:
    """A running chatgate with one Discord bot, and the emulator it talks to."""

    gw: ChatgateProcess
    emu: DiscordEmulator
    name: str = "dc-test"
    _asked: list[int] = field(default_factory=list)

    # -- what users do
    def say(
        self,
        channel_id: int,
        text: str,
        *,
        user_id: int = ALICE,
        mention: bool = True,
        reply_to: int | None = None,
        message_id: int | None = None,
    ) -> int:
        """A user writes in a guild channel or thread (mentioning the bot by default);
        returns the message id."""
        msg = self.emu.user_message(
            channel_id=channel_id,
            content=text,
            user_id=user_id,
            username=_name(user_id),
            mention_bot=mention,
            reply_to=reply_to,
            message_id=message_id,
        )
        return int(msg["id"])

    def dm(self, text: str, *, user_id: int = ALICE, message_id: int | None = None) -> int:
        msg = self.emu.user_message(
            channel_id=dm_channel(user_id),
            content=text,
            user_id=user_id,
            username=_name(user_id),
            message_id=message_id,
        )
        return int(msg["id"])

    def press(self, channel_id: int, message_id: int, label: str, *, user_id: int = ALICE) -> int:
        """A user clicks the button labelled ``label`` on a message; returns the interaction id."""
        message = next(m for m in self.emu.channel_messages(channel_id) if int(m["id"]) == message_id)
        key = next(b["custom_id"] for b in buttons_of(message) if b["label"] == label)
        press = self.emu.press_button(channel_id, message_id, user_id, key, username=_name(user_id))
        return int(press["id"])

    # -- what users see
    def bot_messages(self, channel_id: int) -> list[dict[str, Any]]:
        """What everyone in the channel sees from the bot (ephemeral messages are private)."""
        return [
            m
            for m in self.emu.channel_messages(channel_id)
            if int(m["author"]["id"]) == BOT_ID and not m["flags"] & EPHEMERAL
        ]

    async def whisper_to(self, interaction_id: int, wait_s: float = 5.0) -> str:
        """What only the presser sees: the ephemeral message that answered their press."""
        await self.emu.wait_for(lambda: bool(self.emu.interaction_responses(interaction_id)), wait_s)
        (response,) = self.emu.interaction_responses(interaction_id)
        assert response["ephemeral"], response
        return str(response["content"])

    def replies_to(self, channel_id: int, message_id: int) -> list[dict[str, Any]]:
        return [
            m
            for m in self.bot_messages(channel_id)
            if (m.get("message_reference") or {}).get("message_id") == str(message_id)
        ]

    async def answer_to(self, channel_id: int, message_id: int, wait_s: float = 10.0) -> str:
        """The content of the bot's reply to ``message_id`` once it has arrived."""
        await self.emu.wait_for(lambda: len(self.replies_to(channel_id, message_id)) >= 1, wait_s)
        return str(self.replies_to(channel_id, message_id)[0]["content"])

    async def wait_bot_messages(
        self, channel_id: int, count: int, wait_s: float = 10.0
    ) -> list[dict[str, Any]]:
        await self.emu.wait_for(lambda: len(self.bot_messages(channel_id)) >= count, wait_s)
        return self.bot_messages(channel_id)

    async def commands_synced(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        await self.emu.wait_for(lambda: len(self.emu.commands(BOT_ID, guild_id)) >= 3, 10.0)
        return self.emu.commands(BOT_ID, guild_id)

    async def health(self) -> dict[str, Any]:
        async with self.gw.client() as http, http.get("/healthz") as r:
            body: dict[str, Any] = await r.json()
        return dict(body["bots"][self.name])

    def log_lines(self, pattern: str) -> list[str]:
        return [line for line in self.gw.logs().splitlines() if re.search(pattern, line)]


def buttons_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's buttons, row by row."""
    return [b for row in message.get("components") or [] for b in row["components"] if b["type"] == 2]


def labels(message: dict[str, Any]) -> list[str]:
    return [str(b["label"]) for b in buttons_of(message)]


def dm_channel(user_id: int) -> int:
    return 70_000 + user_id  # the emulator makes an unknown channel without a guild a DM


def _name(user_id: int) -> str:
    return {ALICE: "alice", BOB: "bob"}.get(user_id, f"user{user_id}")


def discord_bot_config(emu: DiscordEmulator, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "dc-test",
        "platform": "discord",
        "token": TOKEN,
        "api_base": emu.api_base,
        "workflow": "support_bot",
        "tier": "free",
        **overrides,
    }


StartDiscordBot = Callable[..., Any]


def use_model(openai_emu: OpenAIEmulator, *, max_retries: int = 0) -> Callable[[dict[str, Any]], None]:
    """A ``configure`` callback answering with a real model on the OpenAI emulator
    (its reply is "echo: " + the last user message; its requests show the history sent)."""

    def configure(config: dict[str, Any]) -> None:
        config["llm"].update(
            base_url=openai_emu.base_url,
            api_key="sk-test-0123456789",
            default_model=MODEL,
            max_retries=max_retries,
            timeout_s=10,
        )

    return configure


def user_turns(request: RecordedRequest) -> list[str]:
    """The user messages one model request carried: the session's history plus the new one."""
    return [m["content"] for m in request.body["messages"] if m["role"] == "user"]
