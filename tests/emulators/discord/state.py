"""What the emulator remembers: bots, users, guilds, channels, messages, interactions, received calls."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.emulators.discord.payloads import bot_user_object, member_object, role_object
from tests.emulators.discord.protocol import (
    API_PREFIX,
    CDN_PATH,
    GATEWAY_PATH,
    MAX_UPLOAD_BYTES,
    PERMS_BOT_ROLE,
    Json,
    Snowflakes,
)

if TYPE_CHECKING:
    from tests.emulators.discord.gateway import GatewayConnection, GatewaySession
    from tests.emulators.discord.limits import EditWindow, Failure
    from tests.emulators.discord.rest import Route


@dataclass
class Call:
    """One REST request as the emulator received it (path is relative to ``api_base``)."""

    method: str
    path: str
    json: Any
    headers: dict[str, str]
    time: float  # time.monotonic() on arrival
    status: int = 0
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class BotState:
    token: str
    user_id: int
    username: str
    application_id: int
    owner_id: int = 1
    sessions: dict[str, GatewaySession] = field(default_factory=dict)
    # guild id (None = global) -> registered application commands
    commands: dict[int | None, list[Json]] = field(default_factory=dict)

    @property
    def discriminator(self) -> str:
        return f"{self.user_id % 10000:04d}"


@dataclass
class MemberState:
    user_id: int
    joined_at: str
    roles: list[int] = field(default_factory=list)
    nick: str | None = None


@dataclass
class GuildState:
    id: int
    name: str
    owner_id: int
    joined_at: str
    channels: dict[int, Json] = field(default_factory=dict)
    threads: dict[int, Json] = field(default_factory=dict)
    members: dict[int, MemberState] = field(default_factory=dict)
    bot_roles: dict[int, Json] = field(default_factory=dict)  # bot user id -> managed role


@dataclass
class MessageRecord:
    data: Json  # REST shape: no guild_id / member
    channel_id: int
    guild_id: int | None
    author_id: int
    mention_ids: frozenset[int]
    referenced_id: int | None = None
    edits: int = 0
    deleted: bool = False
    allowed_mentions: Json | None = None
    interaction_id: int | None = None

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def flags(self) -> int:
        return int(self.data.get("flags", 0))


@dataclass
class InteractionState:
    id: int
    token: str
    bot: BotState
    channel_id: int
    guild_id: int | None
    user_id: int
    payload: Json
    created: float  # monotonic
    response_type: int | None = None
    original_message_id: int | None = None
    message_ids: set[int] = field(default_factory=set)
    responses: list[Json] = field(default_factory=list)
    component_message_id: int | None = None  # a button press: the message the button is on

    @property
    def type(self) -> int:
        return int(self.payload["type"])


class DiscordState:
    """The emulator's settings, its state and the lookups every part of it shares."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.heartbeat_interval_ms = 41250
        self.grant_message_content = True
        # As Discord does when the intent is off in the developer portal: IDENTIFY asking
        # for it is closed with 4014. False: the intent is accepted but content arrives empty.
        self.refuse_ungranted_intents = False
        self.edit_limit: tuple[int, float] | None = None
        self.send_limit: tuple[int, float] | None = None  # (messages, seconds) per channel, like edit_limit
        self.interaction_ack_timeout = 3.0
        self.strict_commands = False  # slash_command() refuses commands the bot never registered
        self.resume_buffer_size = 20_000
        self.upload_limit = MAX_UPLOAD_BYTES  # a bot's files in one message, together

        self.calls: list[Call] = []
        self.identify_payloads: list[Json] = []
        self.resume_payloads: list[Json] = []
        self.connections = 0

        self._ids = Snowflakes()
        self._bots: dict[str, BotState] = {}
        self._users: dict[int, Json] = {}
        self._guilds: dict[int, GuildState] = {}
        self._channels: dict[int, Json] = {}  # every channel: guild text/forum, threads, DMs
        self._dm_by_recipient: dict[int, int] = {}
        self._messages: dict[int, MessageRecord] = {}
        self._channel_messages: dict[int, list[MessageRecord]] = {}
        self._typing: dict[int, int] = {}
        self._interactions: dict[int, InteractionState] = {}
        self._interactions_by_token: dict[str, InteractionState] = {}
        self._nonces: dict[tuple[int, str], int] = {}
        self._attachments: dict[int, bytes] = {}
        self._attachment_types: dict[int, str] = {}
        self.downloads: list[int] = []  # attachment ids fetched from the CDN, in order
        self._failures: list[Failure] = []
        self._edit_windows: dict[int, EditWindow] = {}
        self._send_windows: dict[int, EditWindow] = {}
        self._live: set[GatewayConnection] = set()
        self._gateway_open = asyncio.Event()
        self._gateway_open.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self._routes: dict[str, list[Route]] = {}

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    @property
    def cdn_base(self) -> str:
        return f"http://{self.host}:{self.port}{CDN_PATH}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}{GATEWAY_PATH}"

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _primary_bot(self) -> BotState | None:
        return next(iter(self._bots.values()), None)

    def _bot_for_application(self, application_id: int | None) -> BotState:
        for bot in self._bots.values():
            if application_id is None or bot.application_id == application_id:
                return bot
        raise ValueError(f"no bot for application {application_id}; call add_bot first")

    def _guild(self, guild_id: int) -> GuildState:
        try:
            return self._guilds[guild_id]
        except KeyError:
            raise ValueError(f"unknown guild {guild_id}; call add_guild first") from None

    def _bot_role(self, guild: GuildState, bot: BotState) -> Json:
        role = guild.bot_roles.get(bot.user_id)
        if role is None:
            role = role_object(self._ids.next(), bot.username, PERMS_BOT_ROLE, position=1, bot_id=bot.user_id)
            guild.bot_roles[bot.user_id] = role
        return role

    def _guild_members(self, guild: GuildState) -> list[Json]:
        members = [member_object(m, self._users.get(uid)) for uid, m in guild.members.items()]
        for bot in self._bots.values():
            role_id = int(self._bot_role(guild, bot)["id"])
            members.append(
                member_object(MemberState(bot.user_id, guild.joined_at, [role_id]), bot_user_object(bot))
            )
        return members

    def _bot_by_user(self, user_id: int) -> BotState:
        return next(b for b in self._bots.values() if b.user_id == user_id)
