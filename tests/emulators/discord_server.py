"""Discord emulator for tests: one local aiohttp server serving the REST API under
``/api/v10`` and the gateway websocket at ``/gateway``, faithful enough for the
unmodified discord.py client (plus test controls to inject users, outages and 429s).

Point discord.py at it with::

    discord.http.Route.BASE = emu.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emu.gateway_url)
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
import inspect
import itertools
import json
import math
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

__all__ = ["BotState", "Call", "DiscordEmulator", "GuildState"]

Json = dict[str, Any]

API_PREFIX = "/api/v10"
GATEWAY_PATH = "/gateway"
DISCORD_EPOCH_MS = 1_420_070_400_000
MAX_CONTENT = 2000
MAX_EMBEDS = 10
INTERACTION_TOKEN_TTL = 15 * 60.0

# Gateway opcodes
OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

# Server close codes after which Discord forgets the session (a RESUME would fail). A client
# closing with 1000/1001 ends its session too.
NON_RESUMABLE_CLOSE_CODES = frozenset({4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014})

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

CHANNEL_GUILD_TEXT = 0
CHANNEL_DM = 1
CHANNEL_PUBLIC_THREAD = 11
CHANNEL_PRIVATE_THREAD = 12
CHANNEL_FORUM = 15
THREAD_TYPES = frozenset({10, CHANNEL_PUBLIC_THREAD, CHANNEL_PRIVATE_THREAD})

MESSAGE_DEFAULT = 0
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20

FLAG_HAS_THREAD = 1 << 5
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

APP_FLAG_GATEWAY_MESSAGE_CONTENT = 1 << 18
APP_FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19

PERMS_EVERYONE = sum(
    1 << bit
    for bit in (
        0,  # create instant invite
        6,  # add reactions
        10,  # view channel
        11,  # send messages
        14,  # embed links
        15,  # attach files
        16,  # read message history
        18,  # use external emojis
        20,  # connect
        21,  # speak
        26,  # change nickname
        31,  # use application commands
        35,  # create public threads
        36,  # create private threads
        38,  # send messages in threads
    )
)
PERMS_BOT_ROLE = PERMS_EVERYONE | (1 << 13) | (1 << 34)  # + manage messages, manage threads

MENTION_RE = re.compile(r"<@!?(\d+)>")
ROUTE_PARAM_RE = re.compile(r"\{(\w+)\}")


# --------------------------------------------------------------------------- helpers


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class _Snowflakes:
    """Monotonic, time-based snowflakes (discord.py derives created_at from them)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate


class ApiError(Exception):
    """An error answer of the REST API, with Discord's JSON error body."""

    def __init__(self, status: int, body: Json, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {body.get('message')}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def _field_errors(path: Sequence[str], code: str, message: str) -> Json:
    errors: Json = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {key: errors}
    return errors


def _invalid_form(path: Sequence[str], code: str, message: str) -> ApiError:
    return ApiError(
        400, {"code": 50035, "message": "Invalid Form Body", "errors": _field_errors(path, code, message)}
    )


def _not_found(message: str = "404: Not Found", code: int = 0) -> ApiError:
    return ApiError(404, {"message": message, "code": code})


def _unknown_channel() -> ApiError:
    return _not_found("Unknown Channel", 10003)


def _unknown_message() -> ApiError:
    return _not_found("Unknown Message", 10008)


def _unknown_webhook() -> ApiError:
    return _not_found("Unknown Webhook", 10015)


def _unknown_interaction() -> ApiError:
    return _not_found("Unknown interaction", 10062)


_GENERIC_ERRORS: dict[int, Json] = {
    400: {"message": "400: Bad Request", "code": 0},
    401: {"message": "401: Unauthorized", "code": 0},
    403: {"message": "Missing Permissions", "code": 50013},
    404: {"message": "404: Not Found", "code": 0},
    405: {"message": "405: Method Not Allowed", "code": 0},
    500: {"message": "500: Internal Server Error", "code": 0},
    502: {"message": "502: Bad Gateway", "code": 0},
    503: {"message": "503: Service Unavailable", "code": 0},
    504: {"message": "504: Gateway Timeout", "code": 0},
}


def _json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    # discord.py parses the body as JSON only for this exact Content-Type (no charset).
    all_headers = {"Content-Type": "application/json", "Via": "1.1 google"}
    if headers:
        all_headers.update(headers)
    return web.Response(status=status, body=_dumps(body).encode(), headers=all_headers)


def _no_content(headers: Mapping[str, str] | None = None) -> web.Response:
    all_headers = {"Via": "1.1 google"}
    if headers:
        all_headers.update(headers)
    return web.Response(status=204, headers=all_headers)


def _bucket_hash(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:32]


def _ratelimit_headers(
    *, limit: int, remaining: int, reset_after: float, bucket: str, scope: str | None = None
) -> dict[str, str]:
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(remaining, 0)),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
    }
    if scope is not None:
        headers["X-RateLimit-Scope"] = scope
    return headers


def _rate_limited(retry_after: float, *, bucket: str, limit: int, is_global: bool, scope: str) -> ApiError:
    headers = _ratelimit_headers(
        limit=limit, remaining=0, reset_after=retry_after, bucket=bucket, scope=scope
    )
    headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
    if is_global:
        body["code"] = 0
    return ApiError(429, body, headers)


# --------------------------------------------------------------------------- state model


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


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    retry_after: float
    times: int
    is_global: bool


@dataclass
class _EditWindow:
    started: float
    count: int


@dataclass
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Callable[[_Req], Awaitable[web.StreamResponse]]
    auth: bool  # interaction/webhook routes authenticate with their token instead


@dataclass
class _Req:
    method: str
    path: str
    params: dict[str, str]
    query: Mapping[str, str]
    json: Any
    files: list[tuple[str, bytes, str]]  # (filename, data, content type)
    bot: BotState | None

    def body(self) -> Json:
        if self.json is None:
            return {}
        if not isinstance(self.json, dict):
            raise ApiError(400, {"message": "Invalid Form Body", "code": 50035, "errors": {}})
        return self.json

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise _invalid_form([name], "NUMBER_TYPE_COERCE", "Value is not snowflake.") from None

    def require_bot(self) -> BotState:
        if self.bot is None:
            raise ApiError(401, dict(_GENERIC_ERRORS[401]))
        return self.bot


# --------------------------------------------------------------------------- object builders


def user_object(user_id: int, username: str, *, bot: bool = False, discriminator: str = "0") -> Json:
    obj: Json = {
        "id": str(user_id),
        "username": username,
        "global_name": None if bot else username.capitalize(),
        "discriminator": discriminator,
        "avatar": None,
        "avatar_decoration_data": None,
        "banner": None,
        "accent_color": None,
        "public_flags": 0,
        "flags": 0,
        "collectibles": None,
        "primary_guild": None,
    }
    if bot:
        obj["bot"] = True
    return obj


def bot_user_object(bot: BotState, *, me: bool = False) -> Json:
    obj = user_object(bot.user_id, bot.username, bot=True, discriminator=bot.discriminator)
    if me:
        obj.update({"verified": True, "mfa_enabled": False, "email": None, "locale": "en-US", "bio": ""})
    return obj


def member_object(member: MemberState, user: Json | None, *, permissions: int | None = None) -> Json:
    obj: Json = {
        "roles": [str(r) for r in member.roles],
        "joined_at": member.joined_at,
        "nick": member.nick,
        "avatar": None,
        "banner": None,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }
    if user is not None:
        obj["user"] = user
    if permissions is not None:
        obj["permissions"] = str(permissions)
    return obj


def role_object(
    role_id: int, name: str, permissions: int, *, position: int = 0, bot_id: int | None = None
) -> Json:
    obj: Json = {
        "id": str(role_id),
        "name": name,
        "description": None,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(permissions),
        "managed": bot_id is not None,
        "mentionable": False,
        "flags": 0,
    }
    if bot_id is not None:
        obj["tags"] = {"bot_id": str(bot_id)}
    return obj


def guild_channel_object(
    guild_id: int, channel_id: int, name: str, *, position: int, forum: bool = False
) -> Json:
    obj: Json = {
        "id": str(channel_id),
        "type": CHANNEL_FORUM if forum else CHANNEL_GUILD_TEXT,
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "parent_id": None,
        "topic": None,
        "nsfw": False,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
    }
    if forum:
        obj.update(
            {
                "available_tags": [],
                "default_reaction_emoji": None,
                "default_sort_order": None,
                "default_forum_layout": 0,
                "default_thread_rate_limit_per_user": 0,
                "default_auto_archive_duration": 1440,
            }
        )
    return obj


def thread_object(
    guild_id: int,
    parent_id: int,
    thread_id: int,
    *,
    name: str,
    owner_id: int,
    thread_type: int = CHANNEL_PUBLIC_THREAD,
    auto_archive_duration: int = 1440,
) -> Json:
    now = _now_iso()
    return {
        "id": str(thread_id),
        "type": thread_type,
        "guild_id": str(guild_id),
        "parent_id": str(parent_id),
        "owner_id": str(owner_id),
        "name": name,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "applied_tags": [],
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": auto_archive_duration,
            "archive_timestamp": now,
            "locked": False,
            "invitable": thread_type != CHANNEL_PRIVATE_THREAD,
            "create_timestamp": now,
        },
    }


def dm_channel_object(channel_id: int, recipient: Json) -> Json:
    return {
        "id": str(channel_id),
        "type": CHANNEL_DM,
        "last_message_id": None,
        "flags": 0,
        "recipients": [recipient],
    }


def _strip_content(data: Json) -> Json:
    stripped = dict(data)
    stripped.update(content="", embeds=[], attachments=[], components=[])
    stripped.pop("poll", None)
    return stripped


# --------------------------------------------------------------------------- gateway


class GatewaySession:
    """A gateway session: survives its websocket, buffers dispatches for RESUME."""

    def __init__(self, bot: BotState, session_id: str, intents: int, buffer_size: int) -> None:
        self.bot = bot
        self.session_id = session_id
        self.intents = intents
        self.seq = 0
        self.buffer: deque[str] = deque(maxlen=buffer_size)
        self.conn: GatewayConnection | None = None

    def wants(self, intent: int) -> bool:
        return bool(self.intents & intent)

    def dispatch(self, event: str, data_json: str) -> None:
        self.seq += 1
        frame = f'{{"op":0,"s":{self.seq},"t":"{event}","d":{data_json}}}'
        self.buffer.append(frame)
        if self.conn is not None:
            self.conn.send_raw(frame)

    def frames_after(self, seq: int) -> list[str] | None:
        """Buffered frames newer than ``seq``; None if they are no longer all buffered."""
        first = self.seq - len(self.buffer) + 1
        if seq + 1 < first:
            return None
        return list(itertools.islice(self.buffer, max(seq + 1 - first, 0), None))


class GatewayConnection:
    """One websocket connection; ordered writes go through a queue and a writer task."""

    def __init__(self, emu: DiscordEmulator, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.emu = emu
        self.ws = ws
        self.request = request
        self.session: GatewaySession | None = None
        self.server_closed = False
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    # -- output
    def send_raw(self, frame: str) -> None:
        if not self.server_closed:
            self._queue.put_nowait(frame)

    def send_op(self, op: int, data: Any) -> None:
        self.send_raw(_dumps({"op": op, "d": data}))

    async def _write_loop(self) -> None:
        while True:
            frame = await self._queue.get()
            if frame is None:
                return
            try:
                await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return

    # -- lifecycle
    async def run(self) -> None:
        self._writer = asyncio.create_task(self._write_loop())
        try:
            if self.request.query.get("v", "10") != "10":
                await self.close(4012, "Invalid API version")
                return
            await self.emu._gateway_open.wait()  # during an outage() a reconnect waits here
            self.send_op(
                OP_HELLO, {"heartbeat_interval": self.emu.heartbeat_interval_ms, "_trace": ["emulator"]}
            )
            async for msg in self.ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_text(msg.data)
                elif msg.type is WSMsgType.BINARY:
                    await self.close(4002, "Error while decoding payload.")
        finally:
            session = self.detach()
            client_code = self.ws.close_code
            if session is not None and not self.server_closed and client_code in (1000, 1001):
                # A clean close by the client ends the session, as on Discord.
                self.emu._drop_session(session)
            self._queue.put_nowait(None)
            if self._writer is not None:
                await self._writer

    def detach(self) -> GatewaySession | None:
        """Unbind from the session so further dispatches are only buffered."""
        session = self.session
        if session is not None and session.conn is self:
            session.conn = None
        return session

    async def close(self, code: int, reason: str = "") -> None:
        self.server_closed = True
        self.detach()
        self._queue.put_nowait(None)
        if code == 1006:
            transport = self.request.transport
            if transport is not None:
                transport.abort()
                return
        if code in NON_RESUMABLE_CLOSE_CODES and self.session is not None:
            self.emu._drop_session(self.session)
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), timeout=2.0)
        except (TimeoutError, ConnectionError, RuntimeError):
            transport = self.request.transport
            if transport is not None:
                transport.abort()

    # -- input
    async def _on_text(self, text: str) -> None:
        try:
            payload = json.loads(text)
            op = payload["op"]
        except (ValueError, KeyError, TypeError):
            await self.close(4002, "Error while decoding payload.")
            return
        data = payload.get("d")
        if op == OP_HEARTBEAT:
            self.send_op(OP_HEARTBEAT_ACK, None)
        elif op == OP_IDENTIFY:
            await self._identify(data if isinstance(data, dict) else {})
        elif op == OP_RESUME:
            await self._resume(data if isinstance(data, dict) else {})
        elif op in (OP_PRESENCE_UPDATE, OP_VOICE_STATE_UPDATE):
            if self.session is None:
                await self.close(4003, "Not authenticated.")
        elif op == OP_REQUEST_GUILD_MEMBERS:
            if self.session is None:
                await self.close(4003, "Not authenticated.")
            elif isinstance(data, dict):
                self.emu._answer_member_request(self.session, data)
        else:
            await self.close(4001, "Unknown opcode.")

    async def _identify(self, data: Json) -> None:
        if self.session is not None:
            await self.close(4005, "Already authenticated.")
            return
        self.emu.identify_payloads.append(data)
        bot = self.emu._bots.get(str(data.get("token", "")))
        if bot is None:
            await self.close(4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents >= 1 << 26:
            await self.close(4013, "Invalid intent(s).")
            return
        refused = self.emu.refuse_ungranted_intents and not self.emu.grant_message_content
        if intents & INTENT_MESSAGE_CONTENT and refused:
            await self.close(4014, "Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard is not None and list(shard) != [0, 1]:
            await self.close(4010, "Invalid shard.")
            return
        self.emu._drop_idle_sessions(bot)
        session = GatewaySession(bot, secrets.token_hex(16), intents, self.emu.resume_buffer_size)
        bot.sessions[session.session_id] = session
        session.conn = self
        self.session = session
        session.dispatch("READY", _dumps(self.emu._ready_payload(session, shard)))
        for guild in self.emu._guilds.values():
            session.dispatch("GUILD_CREATE", _dumps(self.emu._guild_create_payload(guild)))

    async def _resume(self, data: Json) -> None:
        self.emu.resume_payloads.append(data)
        session = self.emu._find_session(str(data.get("session_id")))
        seq = data.get("seq")
        frames = None
        if session is not None and session.bot.token == data.get("token"):
            frames = session.frames_after(seq if isinstance(seq, int) else 0)
        if session is None or frames is None:
            self.send_op(OP_INVALID_SESSION, False)
            return
        old = session.conn
        if old is not None and old is not self:
            old.detach()
            self.emu._spawn(old.close(4000, "Session resumed elsewhere."))
        session.conn = self
        self.session = session
        for frame in frames:
            self.send_raw(frame)
        session.dispatch("RESUMED", _dumps({"_trace": ["emulator"]}))


# --------------------------------------------------------------------------- emulator


class DiscordEmulator:
    """A Discord API + gateway emulator with test controls.

    Events reach only bots with a gateway session (connected, or disconnected but resumable:
    those are buffered for RESUME), as on Discord. Sessions survive ``stop()``/``start()``, so a
    restarted emulator on the same port lets clients RESUME. Ephemeral messages are listed by
    ``channel_messages`` (flag 64) but never dispatched. An empty message answers Discord's
    ``50006 Cannot send an empty message``; over-long content ``50035 Invalid Form Body``.
    """

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

        self.calls: list[Call] = []
        self.identify_payloads: list[Json] = []
        self.resume_payloads: list[Json] = []
        self.connections = 0

        self._ids = _Snowflakes()
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
        self._failures: list[_Failure] = []
        self._edit_windows: dict[int, _EditWindow] = {}
        self._send_windows: dict[int, _EditWindow] = {}
        self._live: set[GatewayConnection] = set()
        self._gateway_open = asyncio.Event()
        self._gateway_open.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self._routes: dict[str, list[_Route]] = {}
        self._register_routes()

    # ------------------------------------------------------------------ lifecycle

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}{GATEWAY_PATH}"

    async def start(self) -> None:
        self._stopping = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get(GATEWAY_PATH, self._handle_gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._handle_rest)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._stopping = True
        if self._runner is not None:
            # Stop listening first so clients cannot reconnect while their sockets are being closed.
            for site in list(self._runner.sites):
                await site.stop()
        conns = list(self._live)
        await asyncio.gather(*(conn.close(1001, "Going away") for conn in conns), return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ setup

    def add_bot(
        self, token: str, *, user_id: int = 900, username: str = "chatgate", application_id: int | None = None
    ) -> BotState:
        bot = BotState(
            token=token, user_id=user_id, username=username, application_id=application_id or user_id
        )
        self._bots[token] = bot
        self._users[user_id] = bot_user_object(bot)
        return bot

    def add_user(self, user_id: int, username: str) -> Json:
        user = self._users.get(user_id)
        if user is None or user.get("username") != username:
            user = user_object(user_id, username)
            self._users[user_id] = user
        return user

    def add_guild(
        self,
        guild_id: int,
        *,
        name: str = "Guild",
        channel_ids: Sequence[int] | None = None,
        members: Mapping[int, str] | None = None,
        owner_id: int | None = None,
    ) -> GuildState:
        """Add a guild every bot is in. ``channel_ids`` defaults to ``[guild_id + 1]``;
        ``members`` maps user id -> username (default ``{1001: "alice"}``)."""
        members = {1001: "alice"} if members is None else members
        guild = GuildState(
            id=guild_id,
            name=name,
            owner_id=owner_id if owner_id is not None else next(iter(members), 1),
            joined_at=_now_iso(),
        )
        self._guilds[guild_id] = guild
        for uid, uname in members.items():
            self.add_user(uid, uname)
            guild.members[uid] = MemberState(uid, _now_iso())
        for position, cid in enumerate([guild_id + 1] if channel_ids is None else channel_ids):
            self.add_channel(guild_id, cid, name="general" if position == 0 else f"channel-{cid}")
        self._broadcast(lambda s: True, "GUILD_CREATE", lambda: self._guild_create_payload(guild))
        return guild

    def add_channel(
        self, guild_id: int, channel_id: int, *, name: str | None = None, forum: bool = False
    ) -> Json:
        guild = self._guild(guild_id)
        channel = guild_channel_object(
            guild_id, channel_id, name or f"channel-{channel_id}", position=len(guild.channels), forum=forum
        )
        guild.channels[channel_id] = channel
        self._channels[channel_id] = channel
        self._broadcast(lambda s: s.wants(INTENT_GUILDS), "CHANNEL_CREATE", lambda: channel)
        return channel

    def add_thread(
        self, guild_id: int, parent_id: int, thread_id: int, *, forum: bool = False, name: str | None = None
    ) -> Json:
        """Add an active public thread; ``forum=True`` makes (or turns) its parent a forum channel."""
        guild = self._guild(guild_id)
        parent = guild.channels.get(parent_id)
        if parent is None:
            parent = self.add_channel(guild_id, parent_id, forum=forum)
        elif forum and parent["type"] != CHANNEL_FORUM:
            parent.update(
                guild_channel_object(
                    guild_id, parent_id, parent["name"], position=parent["position"], forum=True
                )
            )
        thread = thread_object(
            guild_id, parent_id, thread_id, name=name or f"thread-{thread_id}", owner_id=guild.owner_id
        )
        self._register_thread(guild, thread, newly_created=False)
        return thread

    # ------------------------------------------------------------------ test-side events

    def user_message(
        self,
        *,
        channel_id: int,
        content: str,
        user_id: int = 1001,
        username: str = "alice",
        guild_id: int | None = None,
        mention_bot: bool = False,
        reply_to: int | None = None,
        message_id: int | None = None,
    ) -> Json:
        """A human posts a message; MESSAGE_CREATE goes to every bot session (buffered while
        disconnected). Without ``guild_id`` an unknown channel becomes a DM channel; the guild
        of a known guild channel or thread is inferred."""
        user = self.add_user(user_id, username)
        channel = self._channels.get(channel_id)
        if channel is None:
            if guild_id is not None:
                raise ValueError(
                    f"channel {channel_id} is not in guild {guild_id}; add it with add_guild/add_channel"
                )
            channel = dm_channel_object(channel_id, user)
            self._channels[channel_id] = channel
            self._dm_by_recipient.setdefault(user_id, channel_id)
        channel_guild = int(channel["guild_id"]) if "guild_id" in channel else None
        if guild_id is not None and channel_guild != guild_id:
            raise ValueError(f"channel {channel_id} belongs to guild {channel_guild}, not {guild_id}")
        if channel_guild is not None:
            guild = self._guilds[channel_guild]
            if user_id not in guild.members:
                guild.members[user_id] = MemberState(user_id, _now_iso())
        bot = self._primary_bot()
        if mention_bot:
            if bot is None:
                raise ValueError("mention_bot=True but no bot was added")
            content = f"<@{bot.user_id}> {content}"
        referenced = None
        if reply_to is not None:
            referenced = self._messages.get(reply_to)
            if referenced is None:
                raise ValueError(f"reply_to: unknown message {reply_to}")
        mention_ids = self._parse_mentions(content, None, referenced, default_reply_ping=True)
        record = self._create_message(
            channel,
            author=user,
            content=content,
            mention_ids=mention_ids,
            referenced=referenced,
            message_id=message_id,
        )
        self._dispatch_message("MESSAGE_CREATE", record)
        return self._gateway_message(record)

    def slash_command(
        self,
        *,
        name: str,
        options: Mapping[str, Any] | None = None,
        channel_id: int,
        user_id: int = 1001,
        guild_id: int | None = None,
        username: str = "alice",
        application_id: int | None = None,
    ) -> Json:
        """A user invokes ``/name`` (``"group sub"`` for subcommands); dispatches INTERACTION_CREATE
        to the application's bot and returns the interaction payload (with ``id`` and ``token``)."""
        bot = self._bot_for_application(application_id)
        user = self.add_user(user_id, username)
        channel = self._channels.get(channel_id)
        if channel is None:
            if guild_id is not None:
                raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
            channel = dm_channel_object(channel_id, user)
            self._channels[channel_id] = channel
            self._dm_by_recipient.setdefault(user_id, channel_id)
        if guild_id is None and "guild_id" in channel:
            guild_id = int(channel["guild_id"])
        parts = name.split()
        command, command_guild = self._find_command(bot, parts[0], guild_id)
        if command is None and self.strict_commands:
            raise ValueError(f"/{parts[0]} is not registered for application {bot.application_id}")
        data: Json = {"id": command["id"] if command else str(self._ids.next()), "name": parts[0], "type": 1}
        if command_guild is not None:
            data["guild_id"] = str(command_guild)
        resolved: Json = {}
        leaf_options = self._interaction_options(command, parts[1:], options or {}, guild_id, resolved)
        if leaf_options:
            data["options"] = leaf_options
        if resolved:
            data["resolved"] = resolved

        interaction_id = self._ids.next()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
        payload: Json = {
            "id": str(interaction_id),
            "application_id": str(bot.application_id),
            "type": 2,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": str(channel_id),
            "channel": {**channel, "permissions": str(PERMS_BOT_ROLE)},
            "app_permissions": str(PERMS_BOT_ROLE),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id is not None:
            guild = self._guilds[guild_id]
            member = guild.members.setdefault(user_id, MemberState(user_id, _now_iso()))
            payload.update(
                guild_id=str(guild_id),
                guild={"id": str(guild_id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=member_object(member, user, permissions=PERMS_EVERYONE),
                context=0,
                authorizing_integration_owners={"0": str(guild_id)},
            )
        else:
            payload.update(user=user, context=1, authorizing_integration_owners={"0": str(user_id)})
        state = InteractionState(
            id=interaction_id,
            token=token,
            bot=bot,
            channel_id=channel_id,
            guild_id=guild_id,
            user_id=user_id,
            payload=payload,
            created=time.monotonic(),
        )
        self._interactions[interaction_id] = state
        self._interactions_by_token[token] = state
        payload_json = _dumps(payload)
        for session in list(bot.sessions.values()):
            session.dispatch("INTERACTION_CREATE", payload_json)
        return payload

    # ------------------------------------------------------------------ test controls

    def channel_messages(self, channel_id: int) -> list[Json]:
        """Live messages of the channel in order: current content, plus ``edits`` (count) and
        ``allowed_mentions`` (as sent by the bot, or None)."""
        return [
            {**rec.data, "edits": rec.edits, "allowed_mentions": rec.allowed_mentions}
            for rec in self._channel_messages.get(channel_id, [])
            if not rec.deleted
        ]

    def interaction_responses(self, interaction_id: int) -> list[Json]:
        """Callback and follow-up/edit records, in order: ``kind`` (callback|followup|edit|delete),
        ``type`` (callback type), ``content``, ``flags``, ``ephemeral``, ``message_id``, ``payload``."""
        state = self._interactions.get(interaction_id)
        return [] if state is None else list(state.responses)

    def typing_calls(self, channel_id: int) -> int:
        return self._typing.get(channel_id, 0)

    def commands(self, application_id: int, guild_id: int | None = None) -> list[Json]:
        bot = self._bot_for_application(application_id)
        return list(bot.commands.get(guild_id, []))

    def attachment_bytes(self, attachment_id: int | str) -> bytes:
        return self._attachments[int(attachment_id)]

    @property
    def active_connections(self) -> int:
        return sum(1 for bot in self._bots.values() for s in bot.sessions.values() if s.conn is not None)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                try:
                    source = inspect.getsource(predicate).strip()
                except (OSError, TypeError):
                    source = repr(predicate)
                recent = ", ".join(f"{c.method} {c.path} -> {c.status}" for c in self.calls[-8:])
                raise AssertionError(
                    f"timed out after {timeout}s waiting for: {source}\n"
                    f"  live gateway connections: {self.active_connections}, "
                    f"ever opened: {self.connections}, "
                    f"identifies: {len(self.identify_payloads)}, resumes: {len(self.resume_payloads)}\n"
                    f"  last REST calls: {recent or 'none'}"
                )
            await asyncio.sleep(0.005)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        *,
        status: int = 429,
        retry_after: float = 0.3,
        times: int = 1,
        is_global: bool = False,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (``re.search`` on the path
        relative to ``api_base`` or on the full path; method ``*`` matches any)."""
        self._failures.append(
            _Failure(method.upper(), re.compile(path_regex), status, retry_after, times, is_global)
        )

    async def disconnect(self, code: int = 4000, *, token: str | None = None) -> None:
        """Close every bot websocket with ``code`` (1006: drop the TCP connection without a close frame);
        with ``token``, only that bot's."""
        conns = [
            c for c in self._live if token is None or (c.session is not None and c.session.bot.token == token)
        ]
        await asyncio.gather(*(conn.close(code, "Emulated outage") for conn in conns), return_exceptions=True)

    @contextlib.asynccontextmanager
    async def outage(self, code: int = 4000) -> AsyncIterator[None]:
        """A gateway outage: every bot websocket is closed with ``code``, and reconnects are
        accepted but get no HELLO until the block ends, so events dispatched inside the block
        are buffered and must come back through RESUME."""
        self._gateway_open.clear()
        try:
            await self.disconnect(code)
            yield
        finally:
            self._gateway_open.set()

    async def send_reconnect(self) -> None:
        for conn in list(self._live):
            if conn.session is not None:
                conn.send_op(OP_RECONNECT, None)

    async def invalidate_session(self, resumable: bool = False) -> None:
        for conn in list(self._live):
            session = conn.session
            if session is None:
                continue
            if not resumable:
                conn.detach()
                self._drop_session(session)
            conn.send_op(OP_INVALID_SESSION, resumable)

    # ------------------------------------------------------------------ internals: state

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

    def _find_session(self, session_id: str) -> GatewaySession | None:
        for bot in self._bots.values():
            if session_id in bot.sessions:
                return bot.sessions[session_id]
        return None

    def _drop_session(self, session: GatewaySession) -> None:
        session.bot.sessions.pop(session.session_id, None)

    def _drop_idle_sessions(self, bot: BotState) -> None:
        for sid, session in list(bot.sessions.items()):
            if session.conn is None:
                del bot.sessions[sid]

    def _bot_role(self, guild: GuildState, bot: BotState) -> Json:
        role = guild.bot_roles.get(bot.user_id)
        if role is None:
            role = role_object(self._ids.next(), bot.username, PERMS_BOT_ROLE, position=1, bot_id=bot.user_id)
            guild.bot_roles[bot.user_id] = role
        return role

    def _register_thread(self, guild: GuildState, thread: Json, *, newly_created: bool) -> None:
        thread_id = int(thread["id"])
        guild.threads[thread_id] = thread
        self._channels[thread_id] = thread
        event = dict(thread, newly_created=True) if newly_created else thread
        self._broadcast(lambda s: s.wants(INTENT_GUILDS), "THREAD_CREATE", lambda: event)

    def _find_command(self, bot: BotState, name: str, guild_id: int | None) -> tuple[Json | None, int | None]:
        if guild_id is not None:
            for cmd in bot.commands.get(guild_id, []):
                if cmd["name"] == name and cmd.get("type", 1) == 1:
                    return cmd, guild_id
        for cmd in bot.commands.get(None, []):
            if cmd["name"] == name and cmd.get("type", 1) == 1:
                return cmd, None
        return None, None

    def _interaction_options(
        self,
        command: Json | None,
        path: Sequence[str],
        values: Mapping[str, Any],
        guild_id: int | None,
        resolved: Json,
    ) -> list[Json]:
        schema: list[Json] = command.get("options", []) if command else []
        if path:
            sub = next((o for o in schema if o.get("name") == path[0]), None)
            sub_type = sub["type"] if sub else (1 if len(path) == 1 else 2)
            inner = self._interaction_options(sub, path[1:], values, guild_id, resolved)
            entry: Json = {"name": path[0], "type": sub_type}
            if inner:
                entry["options"] = inner
            return [entry]
        result = []
        for name, value in values.items():
            declared = next((o for o in schema if o.get("name") == name), None)
            opt_type = declared["type"] if declared else 3
            result.append(
                {
                    "name": name,
                    "type": opt_type,
                    "value": self._option_value(opt_type, value, guild_id, resolved),
                }
            )
        return result

    def _option_value(self, opt_type: int, value: Any, guild_id: int | None, resolved: Json) -> Any:
        if opt_type == 4:
            return int(value)
        if opt_type == 10:
            return float(value)
        if opt_type == 5:
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        if opt_type in (6, 9):
            uid = int(value)
            if uid in self._users:
                resolved.setdefault("users", {})[str(uid)] = self._users[uid]
                guild = self._guilds.get(guild_id) if guild_id is not None else None
                if guild is not None and uid in guild.members:
                    resolved.setdefault("members", {})[str(uid)] = member_object(
                        guild.members[uid], None, permissions=PERMS_EVERYONE
                    )
            return str(uid)
        if opt_type == 7:
            cid = int(value)
            if cid in self._channels:
                ch = self._channels[cid]
                resolved.setdefault("channels", {})[str(cid)] = {
                    "id": ch["id"],
                    "name": ch.get("name"),
                    "type": ch["type"],
                    "permissions": str(PERMS_EVERYONE),
                    **(
                        {"parent_id": ch["parent_id"], "thread_metadata": ch["thread_metadata"]}
                        if ch["type"] in THREAD_TYPES
                        else {}
                    ),
                }
            return str(cid)
        return value if opt_type != 3 else str(value)

    def _answer_member_request(self, session: GatewaySession, data: Json) -> None:
        guild = self._guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        wanted = {int(u) for u in data.get("user_ids") or []}
        query = str(data.get("query") or "").lower()
        members = [
            m
            for m in self._guild_members(guild)
            if (not wanted or int(m["user"]["id"]) in wanted)
            and m["user"]["username"].lower().startswith(query)
        ]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: Json = {"guild_id": str(guild.id), "members": members, "chunk_index": 0, "chunk_count": 1}
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        if data.get("presences"):
            chunk["presences"] = []
        session.dispatch("GUILD_MEMBERS_CHUNK", _dumps(chunk))

    # ------------------------------------------------------------------ internals: payloads

    def _guild_members(self, guild: GuildState) -> list[Json]:
        members = [member_object(m, self._users.get(uid)) for uid, m in guild.members.items()]
        for bot in self._bots.values():
            role_id = int(self._bot_role(guild, bot)["id"])
            members.append(
                member_object(MemberState(bot.user_id, guild.joined_at, [role_id]), bot_user_object(bot))
            )
        return members

    def _guild_create_payload(self, guild: GuildState) -> Json:
        roles = [role_object(guild.id, "@everyone", PERMS_EVERYONE)]
        roles += [self._bot_role(guild, bot) for bot in self._bots.values()]
        members = self._guild_members(guild)
        first_channel = next(iter(guild.channels), None)
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "system_channel_id": None if first_channel is None else str(first_channel),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "features": [],
            "roles": roles,
            "emojis": [],
            "stickers": [],
            "max_members": 500000,
            "max_video_channel_users": 25,
            "nsfw": False,
            "incidents_data": None,
            "lazy": True,
            "large": False,
            "unavailable": False,
            "joined_at": guild.joined_at,
            "member_count": len(members),
            "members": members,
            "channels": list(guild.channels.values()),
            "threads": list(guild.threads.values()),
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
        }

    def _ready_payload(self, session: GatewaySession, shard: Any) -> Json:
        bot = session.bot
        ready: Json = {
            "v": 10,
            "user": bot_user_object(bot, me=True),
            "guilds": [{"id": str(gid), "unavailable": True} for gid in self._guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(bot.application_id), "flags": self._application_flags()},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["local"],
            "user_settings": {},
            "auth": {},
            "_trace": ["emulator"],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        return ready

    def _application_flags(self) -> int:
        return APP_FLAG_GATEWAY_MESSAGE_CONTENT if self.grant_message_content else 0

    def _application_object(self, bot: BotState) -> Json:
        return {
            "id": str(bot.application_id),
            "name": bot.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": hashlib.sha256(bot.token.encode()).hexdigest(),
            "owner": user_object(bot.owner_id, "owner"),
            "team": None,
            "flags": self._application_flags(),
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "event_webhooks_url": None,
            "event_webhooks_status": 1,
            "tags": [],
            "redirect_uris": [],
            "rpc_origins": [],
            "approximate_guild_count": len(self._guilds),
            "integration_types_config": {"0": {}},
            "bot": bot_user_object(bot),
            "is_monetized": False,
            "is_verified": False,
            "is_discoverable": False,
        }

    def _gateway_message(self, rec: MessageRecord, data: Json | None = None) -> Json:
        msg = dict(rec.data if data is None else data)
        if rec.guild_id is not None:
            msg["guild_id"] = str(rec.guild_id)
            guild = self._guilds[rec.guild_id]
            member = guild.members.get(rec.author_id)
            if member is None and rec.author_id in {b.user_id for b in self._bots.values()}:
                member = MemberState(
                    rec.author_id,
                    guild.joined_at,
                    [int(self._bot_role(guild, self._bot_by_user(rec.author_id))["id"])],
                )
            if member is not None and "webhook_id" not in msg:
                msg["member"] = member_object(member, None)
        return msg

    def _bot_by_user(self, user_id: int) -> BotState:
        return next(b for b in self._bots.values() if b.user_id == user_id)

    # ------------------------------------------------------------------ internals: messages

    def _parse_mentions(
        self,
        content: str,
        allowed: Json | None,
        referenced: MessageRecord | None,
        *,
        default_reply_ping: bool,
    ) -> frozenset[int]:
        in_content = [int(m) for m in MENTION_RE.findall(content) if int(m) in self._users]
        if allowed is None:
            ids = set(in_content)
            reply_ping = default_reply_ping
        else:
            parse = allowed.get("parse") or []
            explicit = {int(u) for u in allowed.get("users") or []}
            ids = {u for u in in_content if "users" in parse or u in explicit}
            reply_ping = bool(allowed.get("replied_user", False))
        if referenced is not None and reply_ping:
            ids.add(referenced.author_id)
        return frozenset(ids)

    def _create_message(
        self,
        channel: Json,
        *,
        author: Json,
        content: str,
        mention_ids: frozenset[int],
        referenced: MessageRecord | None = None,
        message_id: int | None = None,
        payload: Json | None = None,
        attachments: Sequence[Json] = (),
        flags: int = 0,
        msg_type: int | None = None,
        extra: Json | None = None,
        allowed_mentions: Json | None = None,
        interaction_id: int | None = None,
    ) -> MessageRecord:
        payload = payload or {}
        channel_id = int(channel["id"])
        guild_id = int(channel["guild_id"]) if "guild_id" in channel else None
        mid = message_id if message_id is not None else self._ids.next()
        data: Json = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "type": msg_type if msg_type is not None else (MESSAGE_REPLY if referenced else MESSAGE_DEFAULT),
            "content": content,
            "author": author,
            "attachments": list(attachments),
            "embeds": list(payload.get("embeds") or []),
            "mentions": [self._users[u] for u in mention_ids if u in self._users],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": bool(payload.get("tts", False)),
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "flags": flags,
            "components": list(payload.get("components") or []),
        }
        if payload.get("nonce") is not None:
            data["nonce"] = payload["nonce"]
        if payload.get("poll"):
            data["poll"] = payload["poll"]
        if referenced is not None:
            data["message_reference"] = {
                "type": 0,
                "channel_id": str(referenced.channel_id),
                "message_id": str(referenced.id),
                **({"guild_id": str(referenced.guild_id)} if referenced.guild_id is not None else {}),
            }
        if extra:
            data.update(extra)
        if channel["type"] in THREAD_TYPES:
            data["position"] = channel["total_message_sent"]
            channel["message_count"] += 1
            channel["total_message_sent"] += 1
        channel["last_message_id"] = str(mid)
        rec = MessageRecord(
            data=data,
            channel_id=channel_id,
            guild_id=guild_id,
            author_id=int(author["id"]),
            mention_ids=mention_ids,
            referenced_id=referenced.id if referenced else None,
            allowed_mentions=allowed_mentions,
            interaction_id=interaction_id,
        )
        self._messages[mid] = rec
        self._channel_messages.setdefault(channel_id, []).append(rec)
        return rec

    def _rest_message(self, rec: MessageRecord) -> Json:
        data = dict(rec.data)
        if rec.referenced_id is not None:
            ref = self._messages.get(rec.referenced_id)
            data["referenced_message"] = None if ref is None or ref.deleted else ref.data
        return data

    def _content_visible(self, rec: MessageRecord, bot: BotState, session: GatewaySession) -> bool:
        if rec.guild_id is None or rec.author_id == bot.user_id or bot.user_id in rec.mention_ids:
            return True
        return self.grant_message_content and session.wants(INTENT_MESSAGE_CONTENT)

    def _dispatch_message(self, event: str, rec: MessageRecord) -> None:
        if rec.flags & FLAG_EPHEMERAL:
            return  # ephemeral messages never reach the gateway
        intent = INTENT_DIRECT_MESSAGES if rec.guild_id is None else INTENT_GUILD_MESSAGES
        ref = self._messages.get(rec.referenced_id) if rec.referenced_id is not None else None
        cache: dict[tuple[bool, bool], str] = {}
        for bot in self._bots.values():
            for session in list(bot.sessions.values()):
                if not session.wants(intent):
                    continue
                key = (
                    self._content_visible(rec, bot, session),
                    ref is not None and self._content_visible(ref, bot, session),
                )
                frame = cache.get(key)
                if frame is None:
                    data = rec.data if key[0] else _strip_content(rec.data)
                    msg = self._gateway_message(rec, data)
                    if rec.referenced_id is not None:
                        if ref is None or ref.deleted:
                            msg["referenced_message"] = None
                        else:
                            msg["referenced_message"] = ref.data if key[1] else _strip_content(ref.data)
                    frame = cache[key] = _dumps(msg)
                session.dispatch(event, frame)

    def _broadcast(
        self, wants: Callable[[GatewaySession], bool], event: str, build: Callable[[], Json]
    ) -> None:
        frame: str | None = None
        for bot in self._bots.values():
            for session in list(bot.sessions.values()):
                if wants(session):
                    frame = frame if frame is not None else _dumps(build())
                    session.dispatch(event, frame)

    def _validate_message_payload(
        self, payload: Json, files: Sequence[Any], *, prefix: Sequence[str] = (), edit: bool = False
    ) -> None:
        content = payload.get("content")
        if content is not None and not isinstance(content, str):
            raise _invalid_form(
                [*prefix, "content"], "STRING_TYPE_CONVERT", "Could not interpret value as string."
            )
        if content is not None and len(content) > MAX_CONTENT:
            raise _invalid_form(
                [*prefix, "content"], "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length."
            )
        embeds = payload.get("embeds") or []
        if len(embeds) > MAX_EMBEDS:
            raise _invalid_form(
                [*prefix, "embeds"], "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length."
            )
        for i, embed in enumerate(embeds):
            if len(str(embed.get("description") or "")) > 4096:
                raise _invalid_form(
                    [*prefix, "embeds", str(i), "description"],
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 4096 or fewer in length.",
                )
            if len(str(embed.get("title") or "")) > 256:
                raise _invalid_form(
                    [*prefix, "embeds", str(i), "title"],
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 256 or fewer in length.",
                )
        if not edit and not (
            content
            or embeds
            or files
            or payload.get("sticker_ids")
            or payload.get("components")
            or payload.get("poll")
        ):
            raise ApiError(400, {"message": "Cannot send an empty message", "code": 50006})

    def _attachments_from(self, channel_id: int, files: Sequence[tuple[str, bytes, str]]) -> list[Json]:
        result = []
        for filename, blob, content_type in files:
            aid = self._ids.next()
            self._attachments[aid] = blob
            url = f"https://cdn.discordapp.com/attachments/{channel_id}/{aid}/{filename}"
            result.append(
                {
                    "id": str(aid),
                    "filename": filename,
                    "size": len(blob),
                    "url": url,
                    "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
                    "content_type": content_type,
                }
            )
        return result

    def _apply_edit(
        self,
        rec: MessageRecord,
        payload: Json,
        files: Sequence[tuple[str, bytes, str]],
        *,
        count: bool = True,
    ) -> None:
        self._validate_message_payload(payload, files, edit=True)
        data = rec.data
        if "content" in payload:
            data["content"] = payload["content"] or ""
            allowed = payload.get("allowed_mentions", rec.allowed_mentions)
            ref = self._messages.get(rec.referenced_id) if rec.referenced_id is not None else None
            rec.mention_ids = self._parse_mentions(data["content"], allowed, ref, default_reply_ping=False)
            data["mentions"] = [self._users[u] for u in rec.mention_ids if u in self._users]
        for key in ("embeds", "components"):
            if key in payload:
                data[key] = list(payload[key] or [])
        if "attachments" in payload or files:
            kept_ids = {str(a.get("id")) for a in payload.get("attachments") or []}
            kept = [a for a in data["attachments"] if a["id"] in kept_ids]
            data["attachments"] = kept + self._attachments_from(rec.channel_id, files)
        if "flags" in payload and payload["flags"] is not None:
            data["flags"] = (data["flags"] & ~(1 << 2)) | (
                int(payload["flags"]) & (1 << 2)
            )  # only SUPPRESS_EMBEDS
        if not (
            data["content"]
            or data["embeds"]
            or data["attachments"]
            or data["components"]
            or data["flags"] & FLAG_LOADING
        ):
            raise ApiError(400, {"message": "Cannot send an empty message", "code": 50006})
        if count:
            rec.edits += 1
            data["edited_timestamp"] = _now_iso()

    # ------------------------------------------------------------------ REST plumbing

    def _register_routes(self) -> None:
        table: list[tuple[str, str, Callable[[_Req], Awaitable[web.StreamResponse]], bool]] = [
            ("GET", "/users/@me", self._r_get_me, True),
            ("POST", "/users/@me/channels", self._r_create_dm, True),
            ("GET", "/users/{user_id}", self._r_get_user, True),
            ("GET", "/oauth2/applications/@me", self._r_get_application, True),
            ("GET", "/applications/@me", self._r_get_application, True),
            ("GET", "/gateway", self._r_gateway, False),
            ("GET", "/gateway/bot", self._r_gateway_bot, True),
            ("GET", "/guilds/{guild_id}", self._r_get_guild, True),
            ("GET", "/guilds/{guild_id}/channels", self._r_get_guild_channels, True),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._r_get_member, True),
            ("GET", "/channels/{channel_id}", self._r_get_channel, True),
            ("GET", "/channels/{channel_id}/messages", self._r_list_messages, True),
            ("POST", "/channels/{channel_id}/messages", self._r_create_message, True),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._r_get_message, True),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._r_edit_message, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._r_delete_message, True),
            (
                "PUT",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._r_reaction,
                True,
            ),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._r_reaction,
                True,
            ),
            ("POST", "/channels/{channel_id}/typing", self._r_typing, True),
            ("POST", "/channels/{channel_id}/threads", self._r_create_thread, True),
            ("POST", "/channels/{channel_id}/messages/{message_id}/threads", self._r_create_thread, True),
            ("GET", "/applications/{application_id}/commands", self._r_get_commands, True),
            ("PUT", "/applications/{application_id}/commands", self._r_put_commands, True),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self._r_get_commands, True),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self._r_put_commands, True),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._r_interaction_callback, False),
            ("POST", "/webhooks/{application_id}/{token}", self._r_followup, False),
            (
                "GET",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._r_get_webhook_message,
                False,
            ),
            (
                "PATCH",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._r_edit_webhook_message,
                False,
            ),
            (
                "DELETE",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._r_delete_webhook_message,
                False,
            ),
        ]
        for method, template, handler, auth in table:
            pattern = ROUTE_PARAM_RE.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", template)
            route = _Route(method, template, re.compile(f"^{pattern}$"), handler, auth)
            self._routes.setdefault(method, []).append(route)

    def _match(self, method: str, path: str) -> tuple[_Route, dict[str, str]]:
        for route in self._routes.get(method, []):
            m = route.regex.match(path)
            if m:
                return route, m.groupdict()
        for other, routes in self._routes.items():
            if other != method and any(r.regex.match(path) for r in routes):
                raise ApiError(405, dict(_GENERIC_ERRORS[405]))
        raise _not_found()

    def _take_failure(self, method: str, path: str) -> ApiError | None:
        for failure in self._failures:
            if failure.method not in ("*", method):
                continue
            if not (failure.pattern.search(path) or failure.pattern.search(API_PREFIX + path)):
                continue
            failure.times -= 1
            if failure.times <= 0:
                self._failures.remove(failure)
            if failure.status == 429:
                return _rate_limited(
                    failure.retry_after,
                    bucket=_bucket_hash(f"{method} {path}"),
                    limit=5,
                    is_global=failure.is_global,
                    scope="global" if failure.is_global else "user",
                )
            body = dict(_GENERIC_ERRORS.get(failure.status, {"message": f"{failure.status}", "code": 0}))
            return ApiError(failure.status, body)
        return None

    async def _read_body(self, request: web.Request) -> tuple[Any, list[tuple[str, bytes, str]]]:
        if not request.can_read_body:
            return None, []
        content_type = request.content_type
        if content_type == "multipart/form-data":
            payload: Any = None
            files: list[tuple[str, bytes, str]] = []
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                blob = await part.read()
                if part.name == "payload_json":
                    payload = self._loads(blob)
                elif part.name is not None:
                    ctype = part.headers.get("Content-Type", "application/octet-stream")
                    files.append((part.filename or part.name, bytes(blob), ctype))
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        return self._loads(raw), []

    @staticmethod
    def _loads(raw: bytes | bytearray) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(
                400, {"message": "The request body contains invalid JSON.", "code": 50109}
            ) from None

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        method = request.method
        path = request.path[len(API_PREFIX) :] or "/"
        call = Call(method, path, None, dict(request.headers), time.monotonic(), query=dict(request.query))
        self.calls.append(call)
        try:
            body, files = await self._read_body(request)
            call.json = body
            failure = self._take_failure(method, path)
            if failure is not None:
                raise failure
            route, params = self._match(method, path)
            bot = self._authenticate(request)
            if route.auth and bot is None:
                raise ApiError(401, dict(_GENERIC_ERRORS[401]))
            response = await route.handler(_Req(method, path, params, request.query, body, files, bot))
        except ApiError as err:
            response = _json_response(err.status, err.body, err.headers)
        call.status = response.status
        return response

    def _authenticate(self, request: web.Request) -> BotState | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bot "):
            return None
        return self._bots.get(auth[4:])

    def _channel_for(self, req: _Req) -> Json:
        channel = self._channels.get(req.int_param("channel_id"))
        if channel is None:
            raise _unknown_channel()
        return channel

    def _message_in(self, channel: Json, message_id: int) -> MessageRecord:
        rec = self._messages.get(message_id)
        if rec is None or rec.deleted or rec.channel_id != int(channel["id"]):
            raise _unknown_message()
        return rec

    def _check_application(self, req: _Req) -> BotState:
        bot = req.require_bot()
        if req.int_param("application_id") != bot.application_id:
            raise ApiError(403, {"message": "Missing Access", "code": 50001})
        return bot

    # ------------------------------------------------------------------ REST handlers: users, app, gateway

    async def _r_get_me(self, req: _Req) -> web.StreamResponse:
        return _json_response(200, bot_user_object(req.require_bot(), me=True))

    async def _r_get_user(self, req: _Req) -> web.StreamResponse:
        user = self._users.get(req.int_param("user_id"))
        if user is None:
            raise _not_found("Unknown User", 10013)
        return _json_response(200, user)

    async def _r_create_dm(self, req: _Req) -> web.StreamResponse:
        recipient_id = int(req.body().get("recipient_id", 0))
        user = self._users.get(recipient_id)
        if user is None:
            raise _invalid_form(["recipient_id"], "USER_NOT_FOUND", "Unknown user")
        channel_id = self._dm_by_recipient.get(recipient_id)
        if channel_id is None:
            channel_id = self._ids.next()
            self._dm_by_recipient[recipient_id] = channel_id
            self._channels[channel_id] = dm_channel_object(channel_id, user)
        return _json_response(200, self._channels[channel_id])

    async def _r_get_application(self, req: _Req) -> web.StreamResponse:
        return _json_response(200, self._application_object(req.require_bot()))

    async def _r_gateway(self, req: _Req) -> web.StreamResponse:
        return _json_response(200, {"url": self.gateway_url})

    async def _r_gateway_bot(self, req: _Req) -> web.StreamResponse:
        return _json_response(
            200,
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            },
        )

    # ------------------------------------------------------------------ REST handlers: guilds, channels

    async def _r_get_guild(self, req: _Req) -> web.StreamResponse:
        guild = self._guilds.get(req.int_param("guild_id"))
        if guild is None:
            raise _not_found("Unknown Guild", 10004)
        payload = self._guild_create_payload(guild)
        for key in (
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "joined_at",
            "member_count",
            "large",
            "lazy",
            "unavailable",
        ):
            payload.pop(key, None)
        return _json_response(200, payload)

    async def _r_get_guild_channels(self, req: _Req) -> web.StreamResponse:
        guild = self._guilds.get(req.int_param("guild_id"))
        if guild is None:
            raise _not_found("Unknown Guild", 10004)
        return _json_response(200, list(guild.channels.values()))

    async def _r_get_member(self, req: _Req) -> web.StreamResponse:
        guild = self._guilds.get(req.int_param("guild_id"))
        if guild is None:
            raise _not_found("Unknown Guild", 10004)
        uid = req.int_param("user_id")
        for member in self._guild_members(guild):
            if int(member["user"]["id"]) == uid:
                return _json_response(200, member)
        raise _not_found("Unknown Member", 10007)

    async def _r_get_channel(self, req: _Req) -> web.StreamResponse:
        return _json_response(200, self._channel_for(req))

    async def _r_typing(self, req: _Req) -> web.StreamResponse:
        channel = self._channel_for(req)
        cid = int(channel["id"])
        self._typing[cid] = self._typing.get(cid, 0) + 1
        return _no_content()

    # ------------------------------------------------------------------ REST handlers: messages

    async def _r_list_messages(self, req: _Req) -> web.StreamResponse:
        channel = self._channel_for(req)
        records = [r for r in self._channel_messages.get(int(channel["id"]), []) if not r.deleted]
        ids = [r.id for r in records]
        limit = max(1, min(int(req.query.get("limit", 50)), 100))
        if "after" in req.query:
            start = bisect.bisect_right(ids, int(req.query["after"]))
            chosen = records[start : start + limit]
        elif "around" in req.query:
            mid = bisect.bisect_left(ids, int(req.query["around"]))
            start = max(0, mid - limit // 2)
            chosen = records[start : start + limit]
        else:
            end = bisect.bisect_left(ids, int(req.query["before"])) if "before" in req.query else len(records)
            chosen = records[max(0, end - limit) : end]
        return _json_response(200, [self._rest_message(r) for r in reversed(chosen)])

    async def _r_create_message(self, req: _Req) -> web.StreamResponse:
        bot = req.require_bot()
        channel = self._channel_for(req)
        if channel["type"] == CHANNEL_FORUM:
            raise ApiError(400, {"message": "Cannot send messages in a non-text channel", "code": 50008})
        payload = req.body()
        self._validate_message_payload(payload, req.files)
        cid = int(channel["id"])
        # Only the 429 carries rate-limit headers: the client cannot pace itself from them,
        # as with Discord's limits that are not announced in advance.
        self._check_send_limit(cid)
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            existing = self._nonces.get((cid, str(nonce)))
            if existing is not None:
                return _json_response(200, self._rest_message(self._messages[existing]))
        referenced = None
        ref = payload.get("message_reference")
        if ref:
            referenced = self._messages.get(int(ref.get("message_id", 0)))
            if referenced is None or referenced.deleted:
                if ref.get("fail_if_not_exists", True):
                    raise _invalid_form(
                        ["message_reference"], "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                    )
                referenced = None
        allowed = payload.get("allowed_mentions")
        content = payload.get("content") or ""
        record = self._create_message(
            channel,
            author=bot_user_object(bot),
            content=content,
            mention_ids=self._parse_mentions(content, allowed, referenced, default_reply_ping=True),
            referenced=referenced,
            payload=payload,
            attachments=self._attachments_from(cid, req.files),
            flags=int(payload.get("flags") or 0) & ((1 << 2) | (1 << 12)),  # suppress embeds / notifications
            allowed_mentions=allowed,
        )
        if nonce is not None and payload.get("enforce_nonce"):
            self._nonces[(cid, str(nonce))] = record.id
        self._dispatch_message("MESSAGE_CREATE", record)
        return _json_response(200, self._rest_message(record))

    async def _r_get_message(self, req: _Req) -> web.StreamResponse:
        rec = self._message_in(self._channel_for(req), req.int_param("message_id"))
        return _json_response(200, self._rest_message(rec))

    def _check_edit_limit(self, channel_id: int) -> dict[str, str]:
        route = "PATCH /channels/{channel_id}/messages/{message_id}"
        return self._check_channel_limit(self.edit_limit, self._edit_windows, channel_id, route)

    def _check_send_limit(self, channel_id: int) -> dict[str, str]:
        return self._check_channel_limit(
            self.send_limit, self._send_windows, channel_id, "POST /channels/{channel_id}/messages"
        )

    def _check_channel_limit(
        self,
        setting: tuple[int, float] | None,
        windows: dict[int, _EditWindow],
        channel_id: int,
        route: str,
    ) -> dict[str, str]:
        if setting is None:
            return {}
        limit, window = setting
        now = time.monotonic()
        state = windows.get(channel_id)
        if state is None or now - state.started >= window:
            state = windows[channel_id] = _EditWindow(now, 0)
        bucket = _bucket_hash(route)
        reset_after = max(window - (now - state.started), 0.001)
        if state.count >= limit:
            raise _rate_limited(
                round(reset_after, 3), bucket=bucket, limit=limit, is_global=False, scope="user"
            )
        state.count += 1
        return _ratelimit_headers(
            limit=limit, remaining=limit - state.count, reset_after=reset_after, bucket=bucket
        )

    async def _r_edit_message(self, req: _Req) -> web.StreamResponse:
        bot = req.require_bot()
        channel = self._channel_for(req)
        rec = self._message_in(channel, req.int_param("message_id"))
        if rec.author_id != bot.user_id:
            raise ApiError(403, {"message": "Cannot edit a message authored by another user", "code": 50005})
        headers = self._check_edit_limit(int(channel["id"]))
        self._apply_edit(rec, req.body(), req.files)
        self._dispatch_message("MESSAGE_UPDATE", rec)
        return _json_response(200, self._rest_message(rec), headers)

    async def _r_delete_message(self, req: _Req) -> web.StreamResponse:
        channel = self._channel_for(req)
        rec = self._message_in(channel, req.int_param("message_id"))
        self._delete(rec)
        return _no_content()

    def _delete(self, rec: MessageRecord) -> None:
        rec.deleted = True
        if rec.flags & FLAG_EPHEMERAL:
            return
        event: Json = {"id": str(rec.id), "channel_id": str(rec.channel_id)}
        if rec.guild_id is not None:
            event["guild_id"] = str(rec.guild_id)
        intent = INTENT_DIRECT_MESSAGES if rec.guild_id is None else INTENT_GUILD_MESSAGES
        self._broadcast(lambda s: s.wants(intent), "MESSAGE_DELETE", lambda: event)

    async def _r_reaction(self, req: _Req) -> web.StreamResponse:
        self._message_in(self._channel_for(req), req.int_param("message_id"))
        return _no_content()

    async def _r_create_thread(self, req: _Req) -> web.StreamResponse:
        bot = req.require_bot()
        parent = self._channel_for(req)
        if "guild_id" not in parent or parent["type"] in THREAD_TYPES:
            raise ApiError(400, {"message": "Cannot execute action on this channel type", "code": 50024})
        payload = req.body()
        name = payload.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise _invalid_form(["name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        guild = self._guilds[int(parent["guild_id"])]
        starter: MessageRecord | None = None
        if "message_id" in req.params:
            starter = self._message_in(parent, req.int_param("message_id"))
            if starter.data.get("thread"):
                raise ApiError(
                    400, {"message": "A thread has already been created for this message", "code": 160004}
                )
            thread_id, thread_type = starter.id, CHANNEL_PUBLIC_THREAD
        else:
            thread_id = self._ids.next()
            thread_type = int(payload.get("type") or CHANNEL_PRIVATE_THREAD)
            if parent["type"] == CHANNEL_FORUM:
                thread_type = CHANNEL_PUBLIC_THREAD
        forum_message = payload.get("message") if parent["type"] == CHANNEL_FORUM else None
        if parent["type"] == CHANNEL_FORUM:
            self._validate_message_payload(forum_message or {}, req.files, prefix=["message"])
        thread = thread_object(
            guild.id,
            int(parent["id"]),
            thread_id,
            name=name,
            owner_id=bot.user_id,
            thread_type=thread_type,
            auto_archive_duration=int(payload.get("auto_archive_duration") or 1440),
        )
        thread["member"] = {
            "id": str(thread_id),
            "user_id": str(bot.user_id),
            "join_timestamp": _now_iso(),
            "flags": 0,
        }
        self._register_thread(guild, thread, newly_created=True)
        if starter is not None:
            starter.data["thread"] = thread
            starter.data["flags"] = starter.flags | FLAG_HAS_THREAD
        response = dict(thread)
        if forum_message is not None:
            content = forum_message.get("content") or ""
            rec = self._create_message(
                thread,
                author=bot_user_object(bot),
                content=content,
                mention_ids=self._parse_mentions(
                    content, forum_message.get("allowed_mentions"), None, default_reply_ping=False
                ),
                message_id=thread_id,
                payload=forum_message,
                attachments=self._attachments_from(thread_id, req.files),
                allowed_mentions=forum_message.get("allowed_mentions"),
            )
            self._dispatch_message("MESSAGE_CREATE", rec)
            response["message"] = self._rest_message(rec)
        return _json_response(201, response)

    # ------------------------------------------------------------------ REST handlers: application commands

    async def _r_get_commands(self, req: _Req) -> web.StreamResponse:
        bot = self._check_application(req)
        guild_id = req.int_param("guild_id") if "guild_id" in req.params else None
        return _json_response(200, bot.commands.get(guild_id, []))

    async def _r_put_commands(self, req: _Req) -> web.StreamResponse:
        bot = self._check_application(req)
        guild_id = req.int_param("guild_id") if "guild_id" in req.params else None
        if guild_id is not None and guild_id not in self._guilds:
            raise ApiError(403, {"message": "Missing Access", "code": 50001})
        payload = req.json
        if not isinstance(payload, list):
            raise _invalid_form([], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        existing = {(c["name"], c.get("type", 1)): c for c in bot.commands.get(guild_id, [])}
        seen: set[tuple[str, int]] = set()
        result = []
        for index, cmd in enumerate(payload):
            self._validate_command(cmd, index)
            key = (cmd["name"], int(cmd.get("type", 1)))
            if key in seen:
                raise _invalid_form(
                    [str(index), "name"],
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Application command names must be unique ({cmd['name']})",
                )
            seen.add(key)
            old = existing.get(key)
            full = {
                "type": 1,
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "dm_permission": True,
                "nsfw": False,
                "contexts": None,
                "integration_types": [0],
                **cmd,
                "id": old["id"] if old else str(self._ids.next()),
                "application_id": str(bot.application_id),
                "version": str(self._ids.next()),
            }
            if guild_id is not None:
                full["guild_id"] = str(guild_id)
            result.append(full)
        if sum(1 for c in result if c["type"] == 1) > 100:
            raise _invalid_form([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        bot.commands[guild_id] = result
        return _json_response(200, result)

    @staticmethod
    def _validate_command(cmd: Any, index: int) -> None:
        if not isinstance(cmd, dict):
            raise _invalid_form(
                [str(index)], "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
            )
        name = cmd.get("name")
        cmd_type = int(cmd.get("type", 1))
        if not isinstance(name, str) or not 1 <= len(name) <= 32:
            raise _invalid_form(
                [str(index), "name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."
            )
        if cmd_type == 1:
            if not re.fullmatch(r"[-_'\w]{1,32}", name) or name != name.lower():
                raise _invalid_form(
                    [str(index), "name"],
                    "APPLICATION_COMMAND_INVALID_NAME",
                    f"Command name is invalid ({name})",
                )
            description = cmd.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 100:
                raise _invalid_form(
                    [str(index), "description"],
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
        if len(cmd.get("options") or []) > 25:
            raise _invalid_form(
                [str(index), "options"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )

    # ------------------------------------------------------------------ REST handlers: interactions

    def _record_response(
        self,
        state: InteractionState,
        kind: str,
        payload: Json,
        rec: MessageRecord | None,
        cb_type: int | None = None,
    ) -> None:
        flags = rec.flags if rec is not None else int(payload.get("flags") or 0)
        state.responses.append(
            {
                "kind": kind,
                "type": cb_type,
                "content": rec.data["content"] if rec is not None else payload.get("content"),
                "flags": flags,
                "ephemeral": bool(flags & FLAG_EPHEMERAL),
                "message_id": str(rec.id) if rec is not None else None,
                "payload": payload,
                "time": time.monotonic(),
            }
        )

    def _interaction_message(
        self,
        state: InteractionState,
        payload: Json,
        files: Sequence[tuple[str, bytes, str]],
        *,
        flags: int,
        original: bool,
    ) -> MessageRecord:
        channel = self._channels[state.channel_id]
        bot = state.bot
        user = self._users[state.user_id]
        name = state.payload["data"]["name"]
        content = payload.get("content") or ""
        allowed = payload.get("allowed_mentions")
        extra: Json = {
            "webhook_id": str(bot.application_id),
            "application_id": str(bot.application_id),
            "interaction_metadata": {
                "id": str(state.id),
                "type": 2,
                "name": name,
                "command_type": 1,
                "user": user,
                "authorizing_integration_owners": state.payload.get("authorizing_integration_owners", {}),
                **({} if original else {"original_response_message_id": str(state.original_message_id)}),
            },
            "interaction": {"id": str(state.id), "type": 2, "name": name, "user": user},
        }
        rec = self._create_message(
            channel,
            author=bot_user_object(bot),
            content=content,
            mention_ids=self._parse_mentions(content, allowed, None, default_reply_ping=False),
            payload=payload,
            attachments=self._attachments_from(state.channel_id, files),
            flags=flags,
            msg_type=MESSAGE_CHAT_INPUT_COMMAND if original else MESSAGE_DEFAULT,
            extra=extra,
            allowed_mentions=allowed,
            interaction_id=state.id,
        )
        state.message_ids.add(rec.id)
        if original:
            state.original_message_id = rec.id
        return rec

    async def _r_interaction_callback(self, req: _Req) -> web.StreamResponse:
        state = self._interactions.get(req.int_param("interaction_id"))
        if state is None or state.token != req.params["token"]:
            raise _unknown_interaction()
        if state.response_type is not None:
            raise ApiError(400, {"message": "Interaction has already been acknowledged.", "code": 40060})
        if time.monotonic() - state.created > self.interaction_ack_timeout:
            raise _unknown_interaction()
        body = req.body()
        cb_type = body.get("type")
        data = body.get("data") or {}
        if cb_type not in (4, 5, 6, 7, 8, 9):
            raise _invalid_form(["type"], "BASE_TYPE_CHOICES", "Value must be one of {4, 5, 6, 7, 8, 9}.")
        rec: MessageRecord | None = None
        ephemeral = int(data.get("flags") or 0) & FLAG_EPHEMERAL
        if cb_type == 4:
            self._validate_message_payload(data, req.files, prefix=["data"])
            rec = self._interaction_message(state, data, req.files, flags=ephemeral, original=True)
        elif cb_type == 5:
            rec = self._interaction_message(state, {}, [], flags=ephemeral | FLAG_LOADING, original=True)
        state.response_type = cb_type
        self._record_response(state, "callback", body, rec, cb_type)
        if rec is not None:
            self._dispatch_message("MESSAGE_CREATE", rec)
        if req.query.get("with_response") not in ("1", "true", "True"):
            return _no_content()
        interaction: Json = {"id": str(state.id), "type": 2}
        resource: Json = {"type": cb_type}
        if rec is not None:
            interaction.update(
                response_message_id=str(rec.id),
                response_message_loading=cb_type == 5,
                response_message_ephemeral=bool(ephemeral),
            )
            resource["message"] = self._rest_message(rec)
        return _json_response(200, {"interaction": interaction, "resource": resource})

    def _interaction_for_webhook(self, req: _Req) -> InteractionState:
        state = self._interactions_by_token.get(req.params["token"])
        if state is None or req.int_param("application_id") != state.bot.application_id:
            raise _unknown_webhook()
        if time.monotonic() - state.created > INTERACTION_TOKEN_TTL:
            raise ApiError(401, {"message": "Invalid Webhook Token", "code": 50027})
        return state

    def _webhook_message(self, state: InteractionState, message_id: str) -> MessageRecord:
        mid = state.original_message_id if message_id == "@original" else int(message_id)
        rec = self._messages.get(mid) if mid is not None else None
        if rec is None or rec.deleted or rec.id not in state.message_ids:
            raise _unknown_message()
        return rec

    async def _r_followup(self, req: _Req) -> web.StreamResponse:
        state = self._interaction_for_webhook(req)
        if state.response_type is None:
            raise _unknown_webhook()
        payload = req.body()
        self._validate_message_payload(payload, req.files)
        original = self._messages.get(state.original_message_id) if state.original_message_id else None
        if original is not None and original.flags & FLAG_LOADING and not original.deleted:
            # The first follow-up after a deferred response replaces the "thinking" message.
            self._apply_edit(original, payload, req.files, count=False)
            original.data["flags"] = original.flags & ~FLAG_LOADING
            original.allowed_mentions = payload.get("allowed_mentions")
            rec = original
            self._dispatch_message("MESSAGE_UPDATE", rec)
        else:
            flags = int(payload.get("flags") or 0) & FLAG_EPHEMERAL
            rec = self._interaction_message(state, payload, req.files, flags=flags, original=False)
            self._dispatch_message("MESSAGE_CREATE", rec)
        self._record_response(state, "followup", payload, rec)
        if req.query.get("wait") in ("0", "false", "False"):
            return _no_content()
        return _json_response(200, self._rest_message(rec))

    async def _r_get_webhook_message(self, req: _Req) -> web.StreamResponse:
        state = self._interaction_for_webhook(req)
        return _json_response(200, self._rest_message(self._webhook_message(state, req.params["message_id"])))

    async def _r_edit_webhook_message(self, req: _Req) -> web.StreamResponse:
        state = self._interaction_for_webhook(req)
        rec = self._webhook_message(state, req.params["message_id"])
        payload = req.body()
        loading = bool(rec.flags & FLAG_LOADING)
        self._apply_edit(rec, payload, req.files, count=not loading)
        if loading:
            rec.data["flags"] = rec.flags & ~FLAG_LOADING
        self._record_response(state, "edit", payload, rec)
        self._dispatch_message("MESSAGE_UPDATE", rec)
        return _json_response(200, self._rest_message(rec))

    async def _r_delete_webhook_message(self, req: _Req) -> web.StreamResponse:
        state = self._interaction_for_webhook(req)
        rec = self._webhook_message(state, req.params["message_id"])
        self._delete(rec)
        self._record_response(state, "delete", {}, rec)
        return _no_content()

    # ------------------------------------------------------------------ gateway endpoint

    async def _handle_gateway(self, request: web.Request) -> web.StreamResponse:
        if self._stopping:
            return web.Response(status=503)
        ws = web.WebSocketResponse(compress=False, max_msg_size=16 * 1024 * 1024, autoclose=True)
        await ws.prepare(request)
        self.connections += 1
        conn = GatewayConnection(self, ws, request)
        self._live.add(conn)
        try:
            await conn.run()
        finally:
            self._live.discard(conn)
        return ws


def iter_calls(calls: Iterable[Call], method: str, path_regex: str) -> list[Call]:
    """Calls whose method matches and whose path matches ``path_regex`` (``re.search``)."""
    pattern = re.compile(path_regex)
    return [c for c in calls if c.method == method.upper() and pattern.search(c.path)]
