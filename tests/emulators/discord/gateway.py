"""The gateway websocket: sessions that survive their connection (RESUME), dispatch of events to them."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import WSMsgType, web

from tests.emulators.discord.payloads import bot_user_object, member_object, role_object, strip_content
from tests.emulators.discord.protocol import (
    APP_FLAG_GATEWAY_MESSAGE_CONTENT,
    FLAG_EPHEMERAL,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    NON_RESUMABLE_CLOSE_CODES,
    OP_HEARTBEAT,
    OP_HEARTBEAT_ACK,
    OP_HELLO,
    OP_IDENTIFY,
    OP_INVALID_SESSION,
    OP_PRESENCE_UPDATE,
    OP_RECONNECT,
    OP_REQUEST_GUILD_MEMBERS,
    OP_RESUME,
    OP_VOICE_STATE_UPDATE,
    PERMS_EVERYONE,
    Json,
    dumps,
)
from tests.emulators.discord.state import BotState, DiscordState, GuildState, MemberState, MessageRecord


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

    def __init__(self, emu: GatewayEvents, ws: web.WebSocketResponse, request: web.Request) -> None:
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
        self.send_raw(dumps({"op": op, "d": data}))

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
        session.dispatch("READY", dumps(self.emu._ready_payload(session, shard)))
        for guild in self.emu._guilds.values():
            session.dispatch("GUILD_CREATE", dumps(self.emu._guild_create_payload(guild)))

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
        session.dispatch("RESUMED", dumps({"_trace": ["emulator"]}))


class GatewayEvents(DiscordState):
    """Events to the bots' gateway sessions, the websocket endpoint and its test controls."""

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

    def _register_thread(self, guild: GuildState, thread: Json, *, newly_created: bool) -> None:
        thread_id = int(thread["id"])
        guild.threads[thread_id] = thread
        self._channels[thread_id] = thread
        event = dict(thread, newly_created=True) if newly_created else thread
        self._broadcast(lambda s: s.wants(INTENT_GUILDS), "THREAD_CREATE", lambda: event)

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
        session.dispatch("GUILD_MEMBERS_CHUNK", dumps(chunk))

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
                    data = rec.data if key[0] else strip_content(rec.data)
                    msg = self._gateway_message(rec, data)
                    if rec.referenced_id is not None:
                        if ref is None or ref.deleted:
                            msg["referenced_message"] = None
                        else:
                            msg["referenced_message"] = ref.data if key[1] else strip_content(ref.data)
                    frame = cache[key] = dumps(msg)
                session.dispatch(event, frame)

    def _broadcast(
        self, wants: Callable[[GatewaySession], bool], event: str, build: Callable[[], Json]
    ) -> None:
        frame: str | None = None
        for bot in self._bots.values():
            for session in list(bot.sessions.values()):
                if wants(session):
                    frame = frame if frame is not None else dumps(build())
                    session.dispatch(event, frame)

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
