"""Discord emulator for tests: one local aiohttp server serving the REST API under
``/api/v10`` and the gateway websocket at ``/gateway``, faithful enough for the
unmodified discord.py client (plus test controls to inject users, outages and 429s).

Point discord.py at it with::

    discord.http.Route.BASE = emu.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emu.gateway_url)
"""

from __future__ import annotations

import asyncio
import inspect
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from aiohttp import web

from tests.emulators.discord.components import BUTTON, buttons, pressable
from tests.emulators.discord.limits import Failure
from tests.emulators.discord.payloads import (
    bot_user_object,
    dm_channel_object,
    guild_channel_object,
    member_object,
    thread_object,
    user_object,
)
from tests.emulators.discord.protocol import (
    API_PREFIX,
    CDN_PATH,
    CHANNEL_FORUM,
    GATEWAY_PATH,
    INTENT_GUILDS,
    INTERACTION_COMMAND,
    INTERACTION_COMPONENT,
    PERMS_BOT_ROLE,
    PERMS_EVERYONE,
    ROUTE_PARAM_RE,
    Json,
    dumps,
    now_iso,
)
from tests.emulators.discord.rest import RestRequest, Route
from tests.emulators.discord.rest_interactions import InteractionRoutes
from tests.emulators.discord.rest_messages import MessageRoutes
from tests.emulators.discord.state import BotState, Call, GuildState, InteractionState, MemberState


# One layer per concern over state.DiscordState: gateway.GatewayEvents, messages.MessageStore,
# rest.RestApi, then the message and interaction routes; this class adds the test-facing API.
class DiscordEmulator(MessageRoutes, InteractionRoutes):
    """A Discord API + gateway emulator with test controls.

    Events reach only bots with a gateway session (connected, or disconnected but resumable:
    those are buffered for RESUME), as on Discord. Sessions survive ``stop()``/``start()``, so a
    restarted emulator on the same port lets clients RESUME. Ephemeral messages are listed by
    ``channel_messages`` (flag 64) but never dispatched. An empty message answers Discord's
    ``50006 Cannot send an empty message``; over-long content ``50035 Invalid Form Body``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._register_routes()

    async def start(self) -> None:
        self._stopping = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get(GATEWAY_PATH, self._handle_gateway)
        app.router.add_get(CDN_PATH + "/{channel_id}/{attachment_id}/{filename}", self._serve_attachment)
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

    async def _serve_attachment(self, request: web.Request) -> web.StreamResponse:
        try:
            aid = int(request.match_info["attachment_id"])
        except ValueError:
            aid = 0
        blob = self._attachments.get(aid)
        if blob is None:
            return web.Response(status=404, text="Not Found")
        self.downloads.append(aid)
        return web.Response(
            body=blob, content_type=self._attachment_types.get(aid, "application/octet-stream")
        )

    async def __aenter__(self) -> DiscordEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

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
            joined_at=now_iso(),
        )
        self._guilds[guild_id] = guild
        for uid, uname in members.items():
            self.add_user(uid, uname)
            guild.members[uid] = MemberState(uid, now_iso())
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
        attachments: Sequence[tuple[str, bytes, str]] = (),
    ) -> Json:
        """A human posts a message; MESSAGE_CREATE goes to every bot session (buffered while
        disconnected). Without ``guild_id`` an unknown channel becomes a DM channel; the guild
        of a known guild channel or thread is inferred. ``attachments``: (file name, bytes,
        content type), served at their ``url`` by the emulator (see ``downloads``)."""
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
                guild.members[user_id] = MemberState(user_id, now_iso())
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
            attachments=self._attachments_from(channel_id, attachments),
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

        return self._open_interaction(bot, channel, user, guild_id, INTERACTION_COMMAND, data)

    def press_button(
        self,
        channel_id: int,
        message_id: int,
        user_id: int,
        custom_id: str,
        *,
        username: str | None = None,
    ) -> Json:
        """A user clicks the button ``custom_id`` of a bot's message; dispatches INTERACTION_CREATE
        (type 3, MESSAGE_COMPONENT) to the message's application and returns the interaction
        payload (with ``id`` and ``token``). Only an enabled button the message shows can be pressed."""
        channel = self._channels.get(channel_id)
        rec = self._messages.get(message_id)
        if channel is None or rec is None or rec.deleted or rec.channel_id != channel_id:
            raise ValueError(f"no message {message_id} in channel {channel_id}")
        if pressable(rec.data, custom_id) is None:
            shown = [b.get("custom_id") for b in buttons(rec.data)]
            raise ValueError(f"message {message_id} shows no enabled button {custom_id!r} (it shows {shown})")
        bot = self._bot_by_user(rec.author_id)
        user = self.add_user(
            user_id, username or self._users.get(user_id, {}).get("username") or f"user{user_id}"
        )
        guild_id = int(channel["guild_id"]) if "guild_id" in channel else None
        data: Json = {"custom_id": custom_id, "component_type": BUTTON}
        extra: Json = {"message": self._rest_message(rec)}
        return self._open_interaction(
            bot, channel, user, guild_id, INTERACTION_COMPONENT, data, extra, component_message_id=rec.id
        )

    def redeliver_interaction(self, interaction_id: int) -> None:
        """Send an interaction to the bot again, same id and token, as Discord may (a RESUME
        replaying it, say)."""
        state = self._interactions[interaction_id]
        payload_json = dumps(state.payload)
        for session in list(state.bot.sessions.values()):
            session.dispatch("INTERACTION_CREATE", payload_json)

    def _open_interaction(
        self,
        bot: BotState,
        channel: Json,
        user: Json,
        guild_id: int | None,
        interaction_type: int,
        data: Json,
        extra: Json | None = None,
        *,
        component_message_id: int | None = None,
    ) -> Json:
        """Make an interaction of ``user`` in ``channel`` and send it to the bot's sessions."""
        user_id = int(user["id"])
        channel_id = int(channel["id"])
        interaction_id = self._ids.next()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
        payload: Json = {
            "id": str(interaction_id),
            "application_id": str(bot.application_id),
            "type": interaction_type,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": str(channel_id),
            "channel": {**channel, "permissions": str(PERMS_BOT_ROLE)},
            "app_permissions": str(PERMS_BOT_ROLE),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            **(extra or {}),
        }
        if guild_id is not None:
            guild = self._guilds[guild_id]
            member = guild.members.setdefault(user_id, MemberState(user_id, now_iso()))
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
            component_message_id=component_message_id,
        )
        self._interactions[interaction_id] = state
        self._interactions_by_token[token] = state
        payload_json = dumps(payload)
        for session in list(bot.sessions.values()):
            session.dispatch("INTERACTION_CREATE", payload_json)
        return payload

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
            Failure(method.upper(), re.compile(path_regex), status, retry_after, times, is_global)
        )

    def _register_routes(self) -> None:
        table: list[tuple[str, str, Callable[[RestRequest], Awaitable[web.StreamResponse]], bool]] = [
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
            route = Route(method, template, re.compile(f"^{pattern}$"), handler, auth)
            self._routes.setdefault(method, []).append(route)


def iter_calls(calls: Iterable[Call], method: str, path_regex: str) -> list[Call]:
    """Calls whose method matches and whose path matches ``path_regex`` (``re.search``)."""
    pattern = re.compile(path_regex)
    return [c for c in calls if c.method == method.upper() and pattern.search(c.path)]
