"""The Telegram adapter: aiogram's Bot driven by our own receive loop.

Flow of an update: received (long polling or webhook) → `read_update` decides
whether and how to answer → kept in the durable `Inbox` → queued in the
`SessionQueue` (with several processes, after taking its place in its chat's
line) → Telegram is told it arrived (next ``getUpdates`` offset / webhook 200)
→ handled in order per session, at most ``max_in_flight`` at once, by the
`ChatRouter` (dedupe, rate limit, workflow) answering through a
`TelegramResponder` → removed from the inbox.

A button press (a ``callback_query`` update) takes the same path, with one step more: as it
is queued, `ChatRouter.check_press` judges it and Telegram gets its acknowledgement (the
toast) at once, without waiting for the session's queue; in the queue,
`ChatRouter.answer_press` then answers it as a message (claimed once by ``cb:<id>``).

Delivery guarantees: the inbox means a crash loses nothing Telegram already
forgot; the router's seen keys mean nothing is answered twice; a graceful stop
stops receiving, lets in-flight answers finish, then acknowledges the offset.
One window remains, as with any non-idempotent send: a crash in the milliseconds
between Telegram accepting an answer and the update being recorded as answered
repeats that answer at restart. We chose repeat over loss (recording first
would lose the answer instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramUnauthorizedError
from aiogram.types import Update
from pydantic import ValidationError

from bots.delivery.claims import Claim
from bots.delivery.dispatch import SessionQueue
from bots.delivery.drain import drain
from bots.delivery.inbox import Inbox
from bots.delivery.leases import Lease
from bots.delivery.pacing import Pacer
from bots.delivery.standby import serve_while_held
from bots.questions import Check
from bots.router import ChatRouter
from bots.telegram.attachments import TelegramFile
from bots.telegram.commands import command_reply, register_commands
from bots.telegram.inbound import Job, Me, read_update
from bots.telegram.polling import ALLOWED_UPDATES, BACKOFF_S, Poller, TokenRejected, token_rejected, until
from bots.telegram.presses import acknowledge, show_choice
from bots.telegram.responder import TelegramResponder
from bots.telegram.scale import POLL_LEASE, OrphanSweeper, claim_all, either
from bots.telegram.send import DeliveryFailed, Sender
from bots.telegram.target import Target
from config.platforms.common import BotCommon
from config.platforms.telegram import TelegramBotSettings, WebhookSettings
from engine.clock import iso_at
from engine.errors import Unavailable

log = logging.getLogger("chatgate.bots.telegram")

T = TypeVar("T")

STOP_GRACE_S = 25.0  # in-flight answers get this long on SIGTERM; unfinished ones stay in the inbox
QUEUE_HIGH_WATER = 1_000  # waiting updates before we stop fetching (polling) or hold webhooks
REQUEST_TIMEOUT_S = 30  # any Bot API call but getUpdates


def derived_webhook_secret(token: str) -> str:
    """The webhook secret when none is configured: stable across restarts and instances,
    unguessable without the token, and in Telegram's alphabet ([A-Za-z0-9_-], ≤ 256)."""
    return hmac.new(token.encode(), b"chatgate-telegram-webhook", hashlib.sha256).hexdigest()


class TelegramAdapter:
    platform: ClassVar[str] = "telegram"

    def __init__(self, settings: BotCommon, router: ChatRouter) -> None:
        if not isinstance(settings, TelegramBotSettings):
            raise TypeError("TelegramAdapter needs TelegramBotSettings")
        self.settings = settings
        self.router = router
        self._token = settings.token.get_secret_value()
        self.state = "starting"
        self.me: Me | None = None
        self.last_error: str | None = None
        self.last_update_at: float | None = None  # webhook mode: when Telegram last called us
        self.skipped_backlog = 0
        self._started_at = time.time()
        self._stopping = asyncio.Event()
        self._finished = asyncio.Event()
        self._running = False
        self._accepting = False
        self._bot: Bot | None = None
        self._queue: SessionQueue[Job] | None = None
        self._inbox: Inbox | None = None
        self._poller: Poller | None = None
        self._known: set[int] = set()  # update ids queued or being answered
        self._acks: dict[int, asyncio.Task[Check | None]] = {}  # presses queued: their verdicts
        self._progress = asyncio.Event()  # set whenever an update is done
        self._sender = Sender(Pacer())
        # Several processes on one Redis (bots.telegram.scale): claims, orphans, one poller.
        self._clustered = router.clustered
        self._lease: Lease | None = None
        self._orphans: OrphanSweeper | None = None
        self._sweeping: asyncio.Task[None] | None = None

    # -- Adapter -------------------------------------------------------------

    @property
    def webhook(self) -> WebhookSettings | None:
        mode = self.settings.mode
        return mode if isinstance(mode, WebhookSettings) else None

    async def run(self) -> None:
        self._running = True
        bot: Bot | None = None
        crashed = True
        try:  # (everything inside: stop() waits for the finally, whatever fails)
            bot = self._bot = self._make_bot()
            if await self._start(bot):
                await self._receive(bot)
                await self._finish()
            crashed = False
        finally:
            self._accepting = False
            if self._sweeping is not None:
                self._sweeping.cancel()
                await asyncio.gather(self._sweeping, return_exceptions=True)
            if self._lease is not None:  # a crash too: a standby takes over at once
                await self._lease.release()
            if self._queue is not None:
                await self._queue.close()
            for ack in self._acks.values():  # presses never handled: they stay in the inbox
                ack.cancel()
            await asyncio.gather(*self._acks.values(), return_exceptions=True)
            if bot is not None:
                await bot.session.close()
            self.state = "crashed" if crashed else "stopped"
            self._finished.set()

    async def stop(self) -> None:
        self._stopping.set()
        if self._running:
            await self._finished.wait()

    async def say(self, chat_id: str, text: str) -> None:
        if self._bot is None:
            raise Unavailable("the Telegram bot is not connected", {"service": "telegram"})
        chat = int(chat_id)
        await TelegramResponder(self._bot, self._sender, Target(chat, private=chat > 0)).final(text)

    def reconfigure(self, settings: BotCommon) -> None:
        if isinstance(settings, TelegramBotSettings):
            self.settings = settings
            self.router.settings = settings  # workflow and tier are read per message

    def describe_failure(self, error: Exception) -> str | None:
        if isinstance(error, TokenRejected):
            return str(error)
        if isinstance(error, (TelegramAPIError, ClientDecodeError, OSError, TimeoutError)):
            return self._clean(f"Telegram Bot API call failed ({type(error).__name__}: {error})")[:300]
        return None

    def health(self) -> dict[str, Any]:
        poller = self._poller
        state = poller.state if poller is not None and self.state == "polling" else self.state
        body: dict[str, Any] = {
            "mode": "webhook" if self.webhook else "polling",
            "state": state,
            "username": self.me.username if self.me else None,
            "in_flight": self._queue.in_flight if self._queue else 0,
            "waiting": self._queue.waiting if self._queue else 0,
            "skipped_backlog": self.skipped_backlog,
            "last_error": (poller.last_error if poller else None) or self.last_error,
        }
        if poller is not None:
            body["last_successful_poll"] = iso_at(poller.last_success)
            body["consecutive_failures"] = poller.failures
        else:
            body["last_successful_poll"] = None
        if self.webhook:
            body["last_update_at"] = iso_at(self.last_update_at)
        if self._lease is not None:
            body["poll_lease"] = self._lease.health()
        if self._orphans is not None:
            body["orphans_adopted"] = self._orphans.adopted
        return body

    # -- webhook entry (chatgate/http/webhooks.py) -----------------------------

    def webhook_secret(self) -> str:
        hook = self.webhook
        if hook is not None and hook.secret_token is not None:
            return hook.secret_token.get_secret_value()
        return derived_webhook_secret(self._token)

    async def receive_webhook(self, data: dict[str, Any]) -> bool:
        """True once the update is durably queued (Telegram may then be told 200);
        False while starting or stopping, so Telegram delivers it again later."""
        if not self._accepting or self._bot is None:
            return False
        self.last_update_at = time.time()
        update = Update.model_validate(data, context={"bot": self._bot})  # ValidationError: caller → 400
        await self._wait_room()
        if not self._accepting:
            return False
        await self._take([update])
        return True

    # -- lifecycle -----------------------------------------------------------

    def _make_bot(self) -> Bot:
        s = self.settings
        kwargs: dict[str, Any] = {"timeout": REQUEST_TIMEOUT_S, "limit": max(100, s.max_in_flight * 2)}
        if s.api_base:
            kwargs["api"] = TelegramAPIServer.from_base(s.api_base)
        return Bot(self._token, session=AiohttpSession(**kwargs))

    def _clean(self, text: str) -> str:
        """Error texts go to logs and /healthz: never with the token in them."""
        secret = self._token.partition(":")[2]
        for value in (self._token, secret):
            if value:
                text = text.replace(value, "***")
        return text

    async def _start(self, bot: Bot) -> bool:
        """Identify the bot and prepare receiving; False when stopped meanwhile."""
        me = await self._retrying(bot.get_me, "connect to the Telegram Bot API")
        if me is None:
            return False
        self.me = Me(me.id, me.username or "")
        log.info("bot %s connected as @%s", self.settings.name, self.me.username)
        if not me.can_read_all_group_messages:
            log.warning(
                "bot %s (@%s): group privacy mode is on, so in groups Telegram only delivers commands, "
                "@mentions and replies to the bot; other group messages are hidden from it. That is all "
                "it answers, but to give it the whole conversation turn privacy off in @BotFather "
                "(/setprivacy).",
                self.settings.name,
                self.me.username,
            )
        await register_commands(bot, self.settings.name, self._clean)
        self._inbox = self.router.inbox()
        self._queue = self.router.queue(self._handle, workers=self.settings.max_in_flight)
        if not self._clustered:
            await self._resume(bot)
        else:
            # Claims decide what is this process's to answer: what a stopped process left in
            # the shared inbox is taken over by the sweeper (its first round runs now).
            self._orphans = OrphanSweeper(
                self.router.claim,
                self._inbox,
                self.router.source,
                known=self._known,
                adopt=self._adopt_orphan,
            )
            self._sweeping = asyncio.create_task(
                self._orphans.run(), name=f"telegram-orphans:{self.settings.name}"
            )
        return True

    async def _resume(self, bot: Bot) -> None:
        """Answer what a previous run received but did not finish (see telegram_inbox)."""
        assert self._inbox is not None
        assert self.me is not None
        resumed = 0
        for update_id, data in await self._inbox.pending():
            job = self._read_kept(data, bot)
            if job is None or self._stale(job):
                self.skipped_backlog += job is not None
                self._inbox.done(update_id)
                continue
            await self._queue_job(job)
            resumed += 1
        if resumed:
            log.info(
                "bot %s: resuming %d update(s) received before the last stop", self.settings.name, resumed
            )

    def _read_kept(self, data: dict[str, Any], bot: Bot) -> Job | None:
        """The job for an update kept in the inbox; None for one not (or no longer) readable."""
        assert self.me is not None
        try:
            return read_update(Update.model_validate(data, context={"bot": bot}), self.me, self.settings)
        except ValidationError:
            return None

    async def _adopt_orphan(self, update_id: int, data: dict[str, Any]) -> None:
        """Answer an update another process took in but could not finish."""
        assert self._inbox is not None
        assert self._bot is not None
        job = self._read_kept(data, self._bot)
        if job is None or self._stale(job) or job.update_id in self._known:
            self._inbox.done(update_id)
            return
        await self._queue_job(job)  # a new place in its chat's line: the old one died with its process

    async def _poll(self, lost: asyncio.Event) -> None:
        """Poll until stopped or the lease is ``lost`` (then not acknowledged: the new holder
        fetches those updates again; their claims, ours, keep it from answering them twice)."""
        assert self._bot is not None
        self._poller = Poller(
            self._bot, self.settings.name, on_batch=self._take, wait_room=self._wait_room, clean=self._clean
        )
        self.state = "polling"
        async with either(self._stopping, lost) as stop:
            try:
                await self._poller.run(stop)
            except TokenRejected as e:
                self.last_error = str(e)
                raise
        if not self._stopping.is_set():
            self._poller = None  # _finish acknowledges only what a stopping poller took

    def _stand_by(self) -> None:
        self.state = "standby"

    async def _receive(self, bot: Bot) -> None:
        hook = self.webhook
        if hook is None:
            # Several processes: only the lease holder polls; the others stand by to take over.
            self._lease = self.router.lease(POLL_LEASE, self._token)
            name = self.settings.name
            await serve_while_held(
                self._lease,
                self._stopping,
                self._poll,
                standing_by=self._stand_by,
                log=log,
                held=f"bot {name}: this process polls Telegram now (it holds the lease)",
                lost=f"bot {name}: lost the polling lease; standing by",
            )
            return
        done = await self._retrying(
            lambda: bot.set_webhook(
                hook.url,
                secret_token=self.webhook_secret(),
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            ),
            "set the webhook",
        )
        if done is None:
            return
        self._accepting = True
        self.state = "webhook"
        log.info("bot %s: receiving updates by webhook at %s", self.settings.name, hook.url)
        await self._stopping.wait()

    async def _finish(self) -> None:
        """Graceful stop: receiving has ended; let in-flight answers finish, then acknowledge."""
        self._accepting = False
        if self._sweeping is not None:  # take over no more: what is left goes to the others
            self._sweeping.cancel()
        self.state = "stopping"
        if self._queue is not None:
            await drain(
                self._queue,
                STOP_GRACE_S,
                log=log,
                bot=f"bot {self.settings.name}",
                left="they will be resumed at the next start",
            )
        if self._poller is not None:
            await self._poller.acknowledge()
        if self._inbox is not None:
            await self._inbox.close()

    async def _retrying(self, call: Callable[[], Awaitable[T]], what: str) -> T | None:
        """Startup calls: retry with backoff until they work or the bot is stopped."""
        delay = BACKOFF_S[0]
        first = True
        while not self._stopping.is_set():
            try:
                return await until(call(), self._stopping)  # a hanging call ends with a stop: None
            except TelegramUnauthorizedError:
                self.last_error = "Telegram rejected the bot token (401 Unauthorized)"
                raise TokenRejected(token_rejected(self.settings.name)) from None
            except (TelegramAPIError, ClientDecodeError, OSError, TimeoutError) as e:
                self.state = "connecting"
                self.last_error = self._clean(f"{type(e).__name__}: {e}")[:300]
                if first:
                    log.warning(
                        "bot %s: cannot %s (%s); retrying with backoff",
                        self.settings.name,
                        what,
                        self.last_error,
                    )
                    first = False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()
            delay = min(delay * 2, BACKOFF_S[1])
        return None

    # -- updates -------------------------------------------------------------

    def _stale(self, job: Job) -> bool:
        """Backlog found at startup older than backlog_max_age_s is acknowledged unanswered."""
        return job.date < self._started_at and time.time() - job.date > self.settings.backlog_max_age_s

    async def _take(self, updates: list[Update]) -> None:
        """Keep new updates durably, then queue them. Returning means Telegram may forget them."""
        assert self._inbox is not None
        jobs = self._new_jobs(updates)
        if not jobs:
            return
        keep_only: set[int] = set()
        if self._clustered:
            jobs, keep_only = await self._claim(jobs)
        try:
            await self._inbox.add(
                [(job.update_id, u.model_dump_json(exclude_none=True, by_alias=True)) for job, u in jobs]
            )
        except BaseException:
            self._forget(jobs)
            raise
        for job, _ in jobs:
            if job.update_id not in keep_only:
                await self._queue_job(job, known=True)

    def _new_jobs(self, updates: list[Update]) -> list[tuple[Job, Update]]:
        """The updates not queued already, addressed to the bot and not stale backlog."""
        assert self.me is not None
        jobs: list[tuple[Job, Update]] = []
        stale = 0
        for update in updates:
            if update.update_id in self._known:
                continue  # already queued (a redelivery)
            job = read_update(update, self.me, self.settings)
            if job is None:
                continue
            if self._stale(job):
                stale += 1
                continue
            self._known.add(job.update_id)
            jobs.append((job, update))
        if stale:
            self.skipped_backlog += stale
            log.info(
                "bot %s: skipped %d message(s) older than %gs found at startup",
                self.settings.name,
                stale,
                self.settings.backlog_max_age_s,
            )
        return jobs

    async def _claim(self, jobs: list[tuple[Job, Update]]) -> tuple[list[tuple[Job, Update]], set[int]]:
        """Another process may have these updates already (a retried webhook call, a new poller
        refetching): claim first; then the inbox keeps each whoever answers it. Returns the
        jobs to keep, and the ids of those to keep without queueing here (another's claim)."""
        try:
            claims = await claim_all(self.router.claim, [job.update_id for job, _ in jobs])
        except BaseException:
            self._forget(jobs)
            raise
        keep_only: set[int] = set()
        for job, _ in jobs:
            if not claims[job.update_id].ours:
                self._known.discard(job.update_id)
                keep_only.add(job.update_id)
        return [(j, u) for j, u in jobs if claims[j.update_id] is not Claim.DONE], keep_only

    def _forget(self, jobs: list[tuple[Job, Update]]) -> None:
        """Not taken after all: a redelivery of these must be taken again."""
        for job, _ in jobs:
            self._known.discard(job.update_id)

    async def _queue_job(self, job: Job, *, known: bool = False) -> None:
        """Its place in its chat's line is taken now, before it waits here (bots.delivery.dispatch)."""
        assert self._queue is not None
        if not known:
            self._known.add(job.update_id)
        if job.press is not None and job.update_id not in self._acks:
            self._acks[job.update_id] = asyncio.create_task(self._acknowledge(job))
        await self._queue.arrive(job.incoming.session_id, job)

    async def _acknowledge(self, job: Job) -> Check | None:
        """Judge a press and acknowledge it with its toast; None: it was answered already
        (a redelivery, whose acknowledgement Telegram got the first time)."""
        assert self._bot is not None
        assert job.press is not None
        if not (await self.router.claim(job.incoming.dedup_key)).ours:
            log.info("%s: button press %s was already answered; skipping", self.router.source, job.update_id)
            return None
        try:
            check = await self.router.check_press(job.incoming, job.press.key)
        except Exception:
            await acknowledge(self._bot, job.press, None, self._clean)  # no spinner left behind
            raise
        await acknowledge(self._bot, job.press, check.toast, self._clean)
        return check

    async def _answer_press(self, job: Job, responder: TelegramResponder) -> None:
        bot, press = self._bot, job.press
        assert bot is not None
        assert press is not None
        ack = self._acks.pop(job.update_id, None)
        check = await (ack if ack is not None else self._acknowledge(job))
        if check is None or check.toast is not None:
            return  # the presser was told why (or it was answered before)

        async def chosen(label: str) -> None:
            await show_choice(bot, self._sender, job.target, press, label)

        await self.router.answer_press(job.incoming, check, responder, chosen)

    async def _wait_room(self) -> None:
        while self._queue is not None and self._queue.waiting >= QUEUE_HIGH_WATER:
            self._progress.clear()
            await self._progress.wait()

    async def _handle(self, job: Job) -> None:
        assert self._bot is not None
        assert self._inbox is not None
        responder = TelegramResponder(self._bot, self._sender, job.target)
        try:
            if job.kind == "press":
                await self._answer_press(job, responder)
            elif job.kind == "ask":
                msg = job.incoming
                if job.media is not None:  # fetched only if the router takes it
                    msg = dataclasses.replace(msg, files=(TelegramFile(self._bot, job.media).received(),))
                await self.router.handle(msg, responder)
            else:
                await self.router.handle(
                    job.incoming,
                    responder,
                    reply=lambda: command_reply(
                        job, greeting=self.settings.greeting, reset=self.router.reset
                    ),
                )
        except DeliveryFailed as e:
            # Telegram unreachable for a while: keep it in the inbox for the next start.
            log.warning(
                "bot %s: could not deliver the answer to update %s: %s",
                self.settings.name,
                job.update_id,
                self._clean(str(e)),
            )
            return
        except TelegramAPIError as e:
            # Permanent (the user blocked the bot, the chat is gone): nothing to retry.
            log.warning(
                "bot %s: Telegram refused the answer to update %s: %s",
                self.settings.name,
                job.update_id,
                self._clean(e.message),
            )
            await self.router.mark_handled(job.incoming)
        finally:
            self._known.discard(job.update_id)
            self._progress.set()
        self._inbox.done(job.update_id)
