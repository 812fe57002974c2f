"""Long polling ``getUpdates`` ourselves (aiogram's Bot, not its Dispatcher).

``Dispatcher.start_polling`` would hide what an operator needs: it acknowledges
an offset only with its next call (so a stop leaves the last batch
unacknowledged), its backoff is invisible to /healthz, and it neither warns
about a second consumer (409) nor lets us skip a stale backlog. This loop:

* backs off on any failure (0.5 s doubling to 5 s, with jitter) and resumes by
  itself: a bot must never silently stop receiving;
* records the last successful poll and the current state for /healthz;
* warns clearly on 409: another process polls with the same token, or a
  webhook is set (then it is removed, since this bot is configured to poll);
* waits while the bot's queue is full instead of fetching more (backpressure);
* on stop, abandons the pending long poll (an unacknowledged update is simply
  redelivered) and `acknowledge` confirms everything handed over with one
  last ``getUpdates(offset=last+1, timeout=0)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramConflictError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import Update

log = logging.getLogger("chatgate.bots.telegram")

LONG_POLL_S = 25  # Telegram holds getUpdates this long when idle
REQUEST_MARGIN_S = 10  # beyond it, a silent connection is taken for dead
BACKOFF_S = (0.5, 5.0)
T = TypeVar("T")
ALLOWED_UPDATES = ["message", "callback_query"]  # all the bot reads (messages, button presses)


class TokenRejected(Exception):
    """Telegram refuses the token (401): polling on would never work."""


def token_rejected(bot: str) -> str:
    return f"Telegram rejected the token of bot {bot} (401 Unauthorized); check bots[].token"


class Poller:
    def __init__(
        self,
        bot: Bot,
        name: str,
        *,
        on_batch: Callable[[list[Update]], Awaitable[None]],
        wait_room: Callable[[], Awaitable[None]],
        clean: Callable[[str], str],
    ) -> None:
        self.bot = bot
        self.name = name
        self.on_batch = on_batch  # must keep the updates durably before returning
        self.wait_room = wait_room
        self.clean = clean  # strips the token from error texts
        self.offset: int | None = None
        self.state = "polling"  # until a poll fails
        self.last_success: float | None = None  # unix time
        self.last_error: str | None = None
        self.failures = 0
        self._acknowledged: int | None = None
        self._failing_since: float | None = None  # monotonic time of the first failure in a row

    async def run(self, stopping: asyncio.Event) -> None:
        """Poll until ``stopping`` is set. Raises `TokenRejected` on 401."""
        delay = BACKOFF_S[0]
        while not stopping.is_set():
            await until(self.wait_room(), stopping)
            if stopping.is_set():
                break
            try:
                updates = await until(self._fetch(), stopping)
            except TelegramUnauthorizedError:
                raise TokenRejected(token_rejected(self.name)) from None
            except TelegramConflictError as e:
                if await self._conflict(e):
                    continue
            except TelegramRetryAfter as e:
                self._failed("backoff", e)
                await _sleep(e.retry_after, stopping)
                continue
            except (TelegramAPIError, ClientDecodeError, OSError, TimeoutError) as e:  # network, 5xx, garbage
                self._failed("backoff", e)
                self._log_unreachable()
            else:
                if updates is None:
                    break  # stopping
                self._succeeded()
                delay = BACKOFF_S[0]
                if updates:
                    await self.on_batch(updates)  # never interrupted: it records what we acknowledge next
                    self.offset = updates[-1].update_id + 1
                continue
            await _sleep(delay * random.uniform(0.8, 1.2), stopping)  # noqa: S311 -- jitter, not a secret
            delay = min(delay * 2, BACKOFF_S[1])

    async def _conflict(self, e: TelegramConflictError) -> bool:
        """409: a webhook is set (removed, poll again at once: True) or another consumer polls."""
        if "webhook" in e.message:
            log.warning(
                "bot %s: a webhook is set for this token; removing it, since this bot polls", self.name
            )
            with contextlib.suppress(TelegramAPIError):
                await self.bot.delete_webhook(drop_pending_updates=False)
            return True
        self._failed("conflict", e)
        if self.failures == 1 or self.failures % 10 == 0:
            log.warning(
                "bot %s: another process is receiving updates with this bot token "
                "(Telegram: 409 %s). Only one consumer per token works: stop the other instance.",
                self.name,
                e.message,
            )
        return False

    def _log_unreachable(self) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            log.warning(
                "bot %s: cannot reach the Telegram Bot API (%s); retrying with backoff",
                self.name,
                self.last_error,
            )
        elif self.failures % 20 == 0:
            log.warning(
                "bot %s: Telegram still unreachable after %.0fs (%s)",
                self.name,
                time.monotonic() - self._failing_since,
                self.last_error,
            )

    def _succeeded(self) -> None:
        if self._failing_since is not None:
            log.info(
                "bot %s: Telegram reachable again after %.0fs",
                self.name,
                time.monotonic() - self._failing_since,
            )
        self._failing_since = None
        self.state, self.failures, self.last_success = "polling", 0, time.time()

    async def _fetch(self) -> list[Update]:
        # The first poll does not wait: it proves the connection (last_success) at once.
        wait = LONG_POLL_S if self.last_success is not None else 0
        return await self.bot.get_updates(
            offset=self.offset,
            timeout=wait,
            allowed_updates=ALLOWED_UPDATES,
            request_timeout=LONG_POLL_S + REQUEST_MARGIN_S,
        )

    def _failed(self, state: str, error: BaseException) -> None:
        self.state = state
        self.failures += 1
        self.last_error = self.clean(f"{type(error).__name__}: {error}")[:300]

    async def acknowledge(self) -> None:
        """Confirm every update handed to ``on_batch``, so none comes back after a restart."""
        if self.offset is None or self._acknowledged == self.offset:
            return
        try:
            await self.bot.get_updates(
                offset=self.offset, limit=1, timeout=0, request_timeout=REQUEST_MARGIN_S
            )
            self._acknowledged = self.offset
        except (TelegramAPIError, OSError, TimeoutError) as e:
            # Not fatal: the inbox and seen keys recognise the redelivered updates.
            log.warning(
                "bot %s: could not acknowledge the last updates (%s)", self.name, self.clean(type(e).__name__)
            )


async def until(work: Awaitable[T], stopping: asyncio.Event) -> T | None:
    """Run ``work`` unless ``stopping`` is set first (then it is cancelled and None returned)."""
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if task.cancelled():
        return None
    return task.result()


async def _sleep(seconds: float, stopping: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):  # (not wait_for: on 3.11 it can swallow a cancel)
            await stopping.wait()
