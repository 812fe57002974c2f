"""The Discord adapter: one discord.py client per configured bot, behind `bots.base.Adapter`.

It only translates: gateway messages and slash commands become `Incoming` for the
shared `ChatRouter`, answers go out through the responders in
`bots.discord.responder`. Which messages count is decided in `bots.discord.inbound`.

Exactly once: every message id (and slash command id) is marked with the router's
``mark_handled`` (stored in the database) once answered, and checked before with
``already_handled`` (memory alone for messages newer than this process, see
`bots.delivery.claims`). discord.py RESUMEs a dropped gateway session and Discord
replays what was missed; a replayed or redelivered message already answered is skipped.
Where the bot connects (api_base) is process-wide: see `bots.discord.endpoint`.

Note that this module is ``bots.discord.adapter`` while ``import discord`` below is the
discord.py package: imports are absolute, so the names never collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Literal

import aiohttp
import discord

from bots.base import Incoming, Responder
from bots.delivery.dispatch import SessionQueue
from bots.delivery.drain import drain
from bots.delivery.pacing import Pacer
from bots.delivery.standby import serve_while_held
from bots.discord import endpoint, presses
from bots.discord import logs as discord_logs
from bots.discord.commands import build_tree, sync_commands
from bots.discord.inbound import (
    Trigger,
    command_incoming,
    command_session,
    message_incoming,
    read_message,
    thread_name,
)
from bots.discord.responder import EphemeralNotice, InteractionResponder, MessageResponder
from bots.messages import HELP, NON_TEXT, RESET_DONE
from bots.router import ChatRouter
from config.platforms.common import BotCommon
from config.platforms.discord import DiscordBotSettings
from engine.errors import Unavailable

log = logging.getLogger("chatgate.bots.discord")

STOP_DRAIN_S = 20.0  # on stop or crash, in-flight answers get this long to finish
DISCORD_HELP = (
    HELP + "\n/ask – ask me a question\n"
    "In a server, mention me or reply to one of my messages; in DMs, just write."
)
SLOW_DOWN = "You're sending messages too fast. Please wait a moment and try again."
NOT_FOR_YOU = "This command isn't available to you here."
THREAD_ARCHIVE_MIN: Literal[1440] = 1440  # a thread opened for an answer stays visible for a day of silence

CONTENT_INTENT_HELP = (
    "enable 'Message Content Intent' for this application at https://discord.com/developers/applications "
    "(Bot → Privileged Gateway Intents), then restart chatgate. Until then the bot still answers DMs, "
    "mentions, replies to its messages and slash commands, but cannot read other messages in threads "
    "it opened."
)

Job = Callable[[], Awaitable[None]]


class _Client(discord.Client):
    """discord.Client that hands its events to the adapter."""

    def __init__(self, adapter: DiscordAdapter, intents: discord.Intents) -> None:
        # Voice is never used: don't warn about its optional libraries on every start.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(intents=intents, chunk_guilds_at_startup=False)
        self.adapter = adapter

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter.on_message(message)

    async def on_ready(self) -> None:
        self.adapter.on_ready()

    async def on_resumed(self) -> None:
        self.adapter.resumes += 1
        log.info("discord bot %s: gateway session resumed", self.adapter.settings.name)

    async def on_disconnect(self) -> None:
        self.adapter.disconnects += 1

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        # Slash commands go to the command tree; a button press comes here, whatever
        # process sent its message (nothing is registered for it in memory).
        if interaction.type is discord.InteractionType.component:
            await self.adapter.on_press(interaction)


class DiscordAdapter:
    platform: ClassVar[str] = "discord"

    def __init__(self, settings: BotCommon, router: ChatRouter) -> None:
        if not isinstance(settings, DiscordBotSettings):
            raise TypeError("DiscordAdapter needs DiscordBotSettings")
        self.settings: DiscordBotSettings = settings
        self.router = router
        self.client: _Client | None = None
        self.pacer = Pacer()
        self.queue: SessionQueue[Job] | None = None
        self.content_intent: bool | None = None  # None: not known yet
        self.resumes = 0
        self.disconnects = 0
        self._stopping = False
        self._warned_empty = False
        self._tasks: set[asyncio.Task[Any]] = set()
        # Several chatgate processes on one Redis: one of them holds the gateway (see run).
        self._lease = router.lease("discord-gateway", settings.token.get_secret_value())
        self._want_content = True  # until Discord refuses the Message Content intent
        self._stop_event = asyncio.Event()
        self._phase: Literal["starting", "standby", "connecting"] = "starting"

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        discord_logs.install()
        discord_logs.CURRENT_BOT.set(self.settings.name)  # (this task's context: its log lines)
        self.queue = self.router.queue(self._run_job, workers=self.settings.max_in_flight)
        name = self.settings.name
        try:
            await serve_while_held(
                self._lease,
                self._stop_event,
                self._connect,
                standing_by=self._stand_by,
                log=log,
                held=f"discord bot {name}: this process holds the gateway now",
                lost=f"discord bot {name}: lost the gateway lease; standing by",
            )
        finally:
            await self._finish()
            if self._lease is not None:  # a crash too: a standby takes over at once
                await self._lease.release()

    def _stand_by(self) -> None:
        self._phase = "standby"

    async def _connect(self, lost: asyncio.Event) -> None:
        """Serve until stopped or the lease is ``lost``."""
        while not self._stopping:
            self._phase = "connecting"
            self.client = _Client(self, self._intents(self._want_content))
            try:
                await self._serve_until(self.client, lost)
                return
            except discord.PrivilegedIntentsRequired:
                if not self._want_content:
                    raise
                # Discord refuses the connection when the intent is requested but not
                # enabled for the application: connect without it and keep working.
                log.warning(
                    "discord bot %s: Discord refused the Message Content intent; connecting "
                    "without it. To fix: %s",
                    self.settings.name,
                    CONTENT_INTENT_HELP,
                )
                self.content_intent = False
                self._want_content = False
                await self.client.close()

    async def _serve_until(self, client: _Client, lost: asyncio.Event) -> None:
        """Serve; when ``lost`` is set first, close the client (a stop closes it in `stop`,
        after in-flight answers had the client to finish with)."""
        serving = asyncio.create_task(self._serve(client))
        losing = asyncio.create_task(lost.wait())
        try:
            await asyncio.wait({serving, losing}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            serving.cancel()  # cancelled (the manager gave up on a stop): not left running
            raise
        finally:
            losing.cancel()
        if serving.done():
            serving.result()  # (raises what serving raised)
            return
        await client.close()
        with contextlib.suppress(Exception):
            await serving

    async def _serve(self, client: _Client) -> None:
        endpoint.point_at(self.settings.name, self.settings.api_base)
        await client.login(self.settings.token.get_secret_value())
        if self.settings.api_base:
            await endpoint.point_gateway(client)
        self._check_content_intent(client)
        self._spawn(sync_commands(build_tree(client, self), self.settings.command_guilds, self.settings.name))
        await client.connect(reconnect=True)

    async def stop(self) -> None:
        """Stop taking messages, let in-flight answers finish, then disconnect."""
        self._stopping = True
        self._stop_event.set()
        await self._drain()
        if self.client is not None:
            await self.client.close()

    async def _drain(self) -> None:
        if self.queue is not None:
            bot = f"discord bot {self.settings.name}"
            await drain(self.queue, STOP_DRAIN_S, log=log, bot=bot, left="stopping anyway")

    async def _finish(self) -> None:
        # A crash or a stop: answers in flight still have a working REST client, so they
        # get to finish (and be marked handled) before the client is closed.
        await self._drain()
        if self.queue is not None:
            await self.queue.close()
        for task in list(self._tasks):
            task.cancel()
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()
        endpoint.release(self.settings.name)

    async def say(self, chat_id: str, text: str) -> None:
        client = self.client
        if client is None or client.is_closed():  # (ready or not: sending is REST)
            raise Unavailable("the Discord bot is not connected", {"service": "discord"})
        channel = client.get_channel(int(chat_id)) or await client.fetch_channel(int(chat_id))
        if not isinstance(channel, discord.abc.Messageable):
            raise Unavailable(f"Discord channel {chat_id} takes no messages", {"service": "discord"})
        await MessageResponder(channel, channel.id, self.pacer, reference=None).final(text)

    def reconfigure(self, settings: BotCommon) -> None:
        """workflow, tier, greeting, session_scope and reply_in_thread apply to the next
        message; token, api_base, max_in_flight and command_guilds on the next restart."""
        if not isinstance(settings, DiscordBotSettings):
            raise TypeError("DiscordAdapter needs DiscordBotSettings")
        self.settings = settings
        self.router.settings = settings

    def describe_failure(self, error: Exception) -> str | None:
        token = self.settings.token.get_secret_value()
        if isinstance(error, discord.LoginFailure):
            return "Discord rejected the bot token (401 Unauthorized); check bots[].token"
        if isinstance(error, discord.PrivilegedIntentsRequired):
            return "Discord refused the requested gateway intents (4014)"
        if isinstance(error, endpoint.EndpointConflict):
            reason = str(error)
        elif isinstance(error, discord.HTTPException):
            reason = f"Discord answered {error.status} {error.text}".strip()[:300]
        elif isinstance(error, discord.ConnectionClosed):
            reason = f"the Discord gateway closed the connection (code {error.code})"
        elif isinstance(error, (discord.GatewayNotFound, aiohttp.ClientError, OSError, TimeoutError)):
            reason = f"cannot reach Discord ({discord_logs.describe(error)})"
        else:
            return None
        return reason.replace(token, "***") if token else reason

    def _state(self, connected: bool) -> str:
        if self._stopping:
            return "stopping"
        if connected:
            return "connected"
        if self._phase == "connecting" and self.disconnects:  # discord.py's own retry loop
            return "reconnecting"
        return self._phase

    def health(self) -> dict[str, Any]:
        client = self.client
        ws = client.ws if client is not None else None
        connected = client is not None and not client.is_closed() and ws is not None and ws.open
        latency = client.latency if client is not None else math.nan
        return {
            "state": self._state(connected),
            "connected": connected,
            "user": str(client.user) if client is not None and client.user else None,
            "guilds": len(client.guilds) if connected and client is not None else 0,
            "latency_ms": round(latency * 1000, 1) if math.isfinite(latency) else None,
            "message_content_intent": self.content_intent,
            "in_flight": self.queue.in_flight if self.queue else 0,
            "waiting": self.queue.waiting if self.queue else 0,
            "disconnects": self.disconnects,
            "resumes": self.resumes,
            **({} if self._lease is None else {"gateway_lease": self._lease.health()}),
        }

    # ------------------------------------------------------------------ setup details

    @staticmethod
    def _intents(message_content: bool) -> discord.Intents:
        intents = discord.Intents.default()
        intents.message_content = message_content
        return intents

    def _check_content_intent(self, client: discord.Client) -> None:
        flags = client.application_flags
        if not client.intents.message_content:
            return
        granted = bool(flags) and (flags.gateway_message_content or flags.gateway_message_content_limited)
        self.content_intent = granted
        if not granted:
            log.warning(
                "discord bot %s: the Message Content intent is not enabled, so messages in servers "
                "arrive empty unless they mention the bot. To fix: %s",
                self.settings.name,
                CONTENT_INTENT_HELP,
            )

    def on_ready(self) -> None:
        client = self.client
        assert client is not None
        log.info(
            "discord bot %s: connected as %s to %d guild(s)",
            self.settings.name,
            client.user,
            len(client.guilds),
        )

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_job(self, job: Job) -> None:
        try:
            await job()
        except discord.HTTPException as e:
            # E.g. the bot lost its permission to write there: say so plainly, no traceback.
            log.warning("discord bot %s: could not deliver an answer: %s", self.settings.name, e)

    # ------------------------------------------------------------------ messages

    async def on_message(self, message: discord.Message) -> None:
        client = self.client
        if self._stopping or client is None or client.user is None or self.queue is None:
            return
        s = self.settings
        self._notice_missing_content(message)
        trigger = read_message(
            message, client.user, bot=s.name, scope=s.session_scope, reply_in_thread=s.reply_in_thread
        )
        if trigger is None:
            return
        msg = message_incoming(message, trigger, bot=s.name)
        await self.queue.arrive(msg.session_id, lambda: self._answer_message(message, msg, trigger))

    def _notice_missing_content(self, message: discord.Message) -> None:
        """A guild message that arrives completely empty means the intent is missing,
        whatever the startup check said: warn once."""
        if self._warned_empty or message.guild is None or message.author.bot:
            return
        if message.type is not discord.MessageType.default or message.content:
            return
        if message.attachments or message.embeds or message.stickers or message.poll:
            return
        self._warned_empty = True
        self.content_intent = False
        log.warning(
            "discord bot %s: messages in servers arrive without their text. To fix: %s",
            self.settings.name,
            CONTENT_INTENT_HELP,
        )

    async def _answer_message(self, message: discord.Message, msg: Incoming, trigger: Trigger) -> None:
        here = MessageResponder(message.channel, message.channel.id, self.pacer, reference=message)
        if not trigger.text and not msg.files:
            # A bare mention is a hello; a sticker (nothing we can read) gets told so.
            canned = NON_TEXT if trigger.has_files else self.settings.greeting

            async def hello() -> str:
                return canned

            await self.router.handle(msg, here, reply=hello)
            return

        async def in_thread() -> Responder | None:
            # With reply_in_thread the thread opens only for a message that will be answered.
            thread = await self._open_thread(message, trigger.text)
            return None if thread is None else MessageResponder(thread, thread.id, self.pacer, reference=None)

        await self.router.handle(msg, here, answer_in=in_thread if trigger.opens_thread else None)

    async def _open_thread(self, message: discord.Message, text: str) -> discord.Thread | None:
        try:
            return await message.create_thread(
                name=thread_name(text), auto_archive_duration=THREAD_ARCHIVE_MIN
            )
        except discord.HTTPException as e:
            if e.code == 160004 and message.guild is not None:  # opened before a restart: reuse it
                existing = message.guild.get_thread(message.id)
                if existing is not None:
                    return existing
            log.warning(
                "discord bot %s: could not open a thread in #%s (%s); answering in the channel",
                self.settings.name,
                getattr(message.channel, "name", message.channel.id),
                e,
            )
            return None

    # ------------------------------------------------------------------ slash commands

    async def on_ask(self, interaction: discord.Interaction[Any], text: str) -> None:
        if self.queue is None or self._stopping:
            await interaction.response.send_message(
                "I'm restarting – please try again in a moment.", ephemeral=True
            )
            return
        s = self.settings
        msg = command_incoming(interaction, text, bot=s.name, scope=s.session_scope)
        if await self.router.already_handled(msg):
            return
        # The limit is checked before deferring, so the notice can be ephemeral: only the
        # asker sees it, and the channel is not cluttered.
        notice = EphemeralNotice(interaction)
        if not await self.router.allow(msg, notice):
            if not notice.sent:  # told already, but every command needs an answer
                refusal = self.router.refusal(msg)
                text = SLOW_DOWN if refusal is None else (refusal.text or NOT_FOR_YOU)
                await interaction.response.send_message(text, ephemeral=True)
            await self.router.mark_handled(msg)
            return
        await interaction.response.defer(thinking=True)  # must happen within 3 s; the answer may not
        await self.queue.arrive(msg.session_id, lambda: self._answer_interaction(interaction, msg))

    async def _answer_interaction(self, interaction: discord.Interaction[Any], msg: Incoming) -> None:
        await self.router.answer(msg, InteractionResponder(interaction, self.pacer))
        await self.router.mark_handled(msg)

    async def on_reset(self, interaction: discord.Interaction[Any]) -> None:
        # Deferred: the reset waits for an answer still running in the session.
        await interaction.response.defer(ephemeral=True, thinking=True)
        s = self.settings
        await self.router.reset(command_session(interaction, bot=s.name, scope=s.session_scope))
        await interaction.followup.send(RESET_DONE, ephemeral=True)

    async def on_help(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(DISCORD_HELP, ephemeral=True)

    # ------------------------------------------------------------------ buttons

    async def on_press(self, interaction: discord.Interaction[Any]) -> None:
        if self.queue is None or self._stopping:
            await presses.acknowledge(interaction, "I'm restarting – please try again in a moment.")
            return
        s = self.settings
        await presses.handle(
            interaction, self.router, self.queue, self.pacer, bot=s.name, scope=s.session_scope
        )
