"""Starting, supervising and stopping the configured bots.

Each bot runs in its own task; a bot that fails (at start-up or later) is shown as
``failed`` with its reason and retried alone, with backoff, while the others keep
serving. A stop finishes within a bounded time whatever the bot is doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from bots.base import Adapter
from bots.platforms import ADAPTERS
from bots.router import ChatRouter, Services
from config.platforms.common import BotCommon
from engine.clock import iso_at
from engine.record import ExecutionRecord
from engine.run.runner import Caller
from engine.store.waiting import Waiting

log = logging.getLogger("chatgate.bots")

BACKOFF_S = (1.0, 60.0)  # between attempts of a failing bot: doubling up to the second
HEALTHY_AFTER_S = 60.0  # a bot that ran this long before failing starts its backoff afresh
# A graceful stop lets in-flight answers finish (the adapters give them up to 25 s);
# then its task gets SETTLE_S to end, is cancelled, and is abandoned CANCEL_S later.
STOP_TIMEOUT_S = 30.0
SETTLE_S = 2.0
CANCEL_S = 5.0
SERVING = {"polling", "webhook", "connected", "standby"}  # adapter states that mean it works


class RunningBot:
    def __init__(self, settings: BotCommon, adapter: Adapter, router: ChatRouter) -> None:
        self.settings = settings
        self.adapter = adapter
        self.router = router
        self.task: asyncio.Task[None] | None = None
        self.restarts = 0
        self.last_crash: str | None = None
        self.failure: str | None = None  # the last failure, until the bot serves again
        self.retry_at: float | None = None  # unix time of the next attempt, while waiting for it
        self.started_at = time.time()
        self.stopping = asyncio.Event()

    def failed(self) -> bool:
        """Waiting to retry, or retrying and not serving yet: a crash loop stays failed."""
        if self.failure is None:
            return False
        return self.retry_at is not None or self.adapter.health().get("state") not in SERVING


class BotManager:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.bots: dict[str, RunningBot] = {}
        self.unstarted: dict[str, BotCommon] = {}  # configured without a token

    def configured(self, bots: Sequence[BotCommon]) -> None:
        """The config's bots without a token: shown in /healthz as ``no_token``."""
        self.unstarted = {b.name: b for b in bots if not b.enabled}

    def start(self, settings: BotCommon) -> None:
        platform = settings.platform
        router = ChatRouter(self.services, settings)
        adapter = ADAPTERS[platform](settings, router)
        bot = RunningBot(settings, adapter, router)
        bot.task = asyncio.create_task(self._supervise(bot), name=f"bot:{settings.name}")
        self.bots[settings.name] = bot
        self.unstarted.pop(settings.name, None)
        log.info("bot %s (%s) starting", settings.name, platform)

    async def _supervise(self, bot: RunningBot) -> None:
        delay = BACKOFF_S[0]
        name = bot.settings.name
        while not bot.stopping.is_set():
            started = time.monotonic()
            try:
                await bot.adapter.run()
                return  # a clean return means it was stopped
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if bot.stopping.is_set():
                    return  # whatever a stop interrupted is no failure
                if time.monotonic() - started > HEALTHY_AFTER_S:
                    delay = BACKOFF_S[0]  # it ran fine for a while: this is a new problem
                reason = bot.adapter.describe_failure(e)
                text = reason or _masked(f"{type(e).__name__}: {e}"[:300], bot)
                repeated = text == bot.last_crash
                bot.restarts += 1
                bot.last_crash = bot.failure = text
                bot.retry_at = time.time() + delay
                if reason is None and not repeated:  # not a failure the platform expects: a bug
                    log.exception("bot %s crashed; retrying in %.0fs", name, delay)
                else:  # (a bug's traceback once, then one line per attempt like the rest)
                    log.warning("bot %s failed: %s; retrying in %.0fs", name, text, delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await bot.stopping.wait()
            delay = min(delay * 2, BACKOFF_S[1])
            if bot.stopping.is_set():
                return
            bot.retry_at = None
            try:
                bot.adapter = ADAPTERS[bot.settings.platform](bot.settings, bot.router)
            except Exception:
                log.exception("bot %s could not be set up again", name)
                return

    def reconfigure(self, settings: BotCommon) -> None:
        """Changes that need no reconnect (workflow, tier, greeting, access): the next
        message uses them; a restart after a crash too."""
        bot = self.bots[settings.name]
        bot.settings = settings
        bot.router.settings = settings
        bot.adapter.reconfigure(settings)

    async def stop(self, name: str) -> None:
        """Stop one bot: it finishes its answers if it can, all within a bounded time."""
        bot = self.bots.pop(name)
        bot.stopping.set()  # no retry from now on, and a backoff wait ends
        log.info("bot %s stopping", name)
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await bot.adapter.stop()  # the graceful part: answers finish, receiving ends
        except TimeoutError:
            log.warning("bot %s did not stop within %.0fs; cancelling it", name, STOP_TIMEOUT_S)
        except Exception as e:
            log.warning("bot %s did not stop cleanly: %s", name, e)
        task = bot.task
        if task is None:
            return
        # What is left is the adapter's cleanup, or a platform library sleeping before a
        # retry of its own (discord.py's reconnect backoff reaches minutes): cut it short.
        done, _ = await asyncio.wait({task}, timeout=SETTLE_S)
        if not done:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=CANCEL_S)
            if not done:
                log.warning("bot %s ignored its cancellation; leaving it behind", name)
                return
        if not task.cancelled() and task.exception() is not None:
            log.warning("bot %s stopped with an error: %s", name, task.exception())

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(name) for name in list(self.bots)))

    async def tell(self, record: ExecutionRecord, waiting: Waiting) -> None:
        """Say in the chat what a bot's question led to when its wait ran out (the sweep
        resumed it with nobody listening). Another owner's, or a bot not running here: nothing."""
        bot = self.bots.get(record.owner.removeprefix("bot:")) if record.owner.startswith("bot:") else None
        chat_id = Caller(**waiting.state["caller"]).chat_id
        if bot is None or chat_id is None or record.status not in ("completed", "waiting"):
            return
        result = record.result or {}
        for text in [*result.get("messages", ()), result.get("content", "")]:
            if text:
                await bot.adapter.say(chat_id, text)

    def failing(self) -> list[str]:
        """Bots that failed and wait to be retried."""
        return [name for name, b in self.bots.items() if b.failed()]

    def health(self) -> dict[str, Any]:
        bots: dict[str, Any] = {}
        for name, b in self.bots.items():
            body: dict[str, Any] = {
                "platform": b.settings.platform,
                "restarts": b.restarts,
                "last_crash": b.last_crash,
                **b.adapter.health(),
            }
            if b.retry_at is not None:
                retry = iso_at(b.retry_at)
                body.update(state="failed", reason=b.failure, retry_at=retry)
            elif b.failed():
                body["reason"] = b.failure  # retrying now: its own state, and why
            bots[name] = body
        for name, s in self.unstarted.items():
            bots[name] = {"platform": s.platform, "state": "no_token"}
        return bots


def _masked(text: str, bot: RunningBot) -> str:
    """/healthz is not a log line (those are masked): an unexpected error's text may quote the token."""
    token = bot.settings.token.get_secret_value()
    return text.replace(token, "***") if token else text
