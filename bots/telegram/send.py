"""Sending to Telegram politely: per-chat pacing, flood-control retries, transient-error retries.

aiogram never retries a call by itself (a 429 surfaces as `TelegramRetryAfter`),
so this is where "wait ``retry_after`` and retry that call" lives. Pacing keeps
bursts under Telegram's per-chat limits in the first place, so 429s stay rare.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

log = logging.getLogger("chatgate.bots.telegram")

T = TypeVar("T")

# Telegram: about one message per second in a chat (short bursts are fine) and at
# most 20 per minute in a group. A bucket of capacity C refilled at r/s lets at
# most C + 60r through in any minute, so the group bucket (6 + 14) stays under 20.
PRIVATE_PACE = (3.0, 1.0)  # (burst, messages per second)
GROUP_PACE = (6.0, 14 / 60)
MAX_FLOOD_RETRIES = 6  # 429s for one call before giving up on it
TRANSIENT_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)  # network errors / 5xx: then give up
_MAX_BUCKETS = 10_000


class DeliveryFailed(Exception):
    """Telegram stayed unreachable (or kept flood-limiting) past our retries."""


def is_not_modified(error: TelegramBadRequest) -> bool:
    return "message is not modified" in error.message


def is_bad_entities(error: TelegramBadRequest) -> bool:
    return "can't parse entities" in error.message or "can't find end" in error.message.lower()


def is_too_long(error: TelegramBadRequest) -> bool:
    return "too long" in error.message.lower()


@dataclass(slots=True)
class _Bucket:
    burst: float
    rate: float
    tokens: float
    stamp: float
    blocked_until: float = 0.0

    def wait_time(self, now: float) -> float:
        """Seconds until a send is allowed; takes the token when it is 0."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.blocked_until > now:
            return self.blocked_until - now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class ChatPacer:
    """A token bucket per chat; Telegram's ``retry_after`` blocks the whole chat."""

    def __init__(self) -> None:
        self._buckets: dict[int, _Bucket] = {}

    def _bucket(self, chat_id: int, group: bool) -> _Bucket:
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._forget_idle()
            burst, rate = GROUP_PACE if group else PRIVATE_PACE
            bucket = self._buckets[chat_id] = _Bucket(burst, rate, burst, time.monotonic())
        return bucket

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for chat_id, b in list(self._buckets.items()):
            if b.blocked_until <= now and b.tokens + (now - b.stamp) * b.rate >= b.burst:
                del self._buckets[chat_id]  # full again: forgetting it changes nothing
        if len(self._buckets) > _MAX_BUCKETS // 2:
            # Still crowded: forget the oldest half (at worst a chat gets a fresh burst),
            # so this scan runs rarely instead of once per new chat.
            for chat_id in list(self._buckets)[: len(self._buckets) // 2]:
                del self._buckets[chat_id]

    async def acquire(self, chat_id: int, group: bool) -> None:
        while True:
            wait = self._bucket(chat_id, group).wait_time(time.monotonic())
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def try_acquire(self, chat_id: int, group: bool) -> bool:
        """Take a token only if one is free now (previews skip rather than wait)."""
        return self._bucket(chat_id, group).wait_time(time.monotonic()) == 0.0

    def blocked(self, chat_id: int) -> bool:
        bucket = self._buckets.get(chat_id)
        return bucket is not None and bucket.blocked_until > time.monotonic()

    def block(self, chat_id: int, group: bool, seconds: float) -> None:
        bucket = self._bucket(chat_id, group)
        bucket.blocked_until = max(bucket.blocked_until, time.monotonic() + seconds)


class Sender:
    """Runs one Bot API call for a chat with pacing and retries."""

    def __init__(self, pacer: ChatPacer) -> None:
        self.pacer = pacer

    async def deliver(
        self, chat_id: int, group: bool, call: Callable[[], Awaitable[T]], *, paced: bool = True
    ) -> T:
        """For what must arrive (answers, notices): waits for the chat's turn, retries 429s
        after ``retry_after`` and transient failures with backoff. `TelegramBadRequest`
        and other permanent errors are raised at once; `DeliveryFailed` when retries run out."""
        flood = 0
        transient = 0
        while True:
            if paced:
                await self.pacer.acquire(chat_id, group)
            try:
                return await call()
            except TelegramRetryAfter as e:
                flood += 1
                self.pacer.block(chat_id, group, e.retry_after)
                if flood > MAX_FLOOD_RETRIES:
                    raise DeliveryFailed(f"chat {chat_id} still flood-limited after {flood} tries") from None
                log.info("flood control in chat %s: retrying in %ss", chat_id, e.retry_after)
                if not paced:
                    await asyncio.sleep(e.retry_after)
            except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as e:
                if transient >= len(TRANSIENT_DELAYS_S):
                    raise DeliveryFailed(
                        f"Telegram unreachable while answering chat {chat_id}: {e}"
                    ) from None
                delay = TRANSIENT_DELAYS_S[transient]
                transient += 1
                log.info(
                    "sending to chat %s failed (%s); retrying in %.1fs", chat_id, type(e).__name__, delay
                )
                await asyncio.sleep(delay)

    async def preview(
        self, chat_id: int, group: bool, call: Callable[[], Awaitable[T]], *, paced: bool
    ) -> T | None:
        """For what may be skipped (drafts, edits of a preview, typing): one try, never raises.
        A paced preview is skipped when the chat has no free token, so a preview never
        delays the real answer."""
        if self.pacer.blocked(chat_id):
            return None
        if paced and not self.pacer.try_acquire(chat_id, group):
            return None
        try:
            return await call()
        except TelegramRetryAfter as e:
            self.pacer.block(chat_id, group, e.retry_after)
        except TelegramBadRequest as e:
            if not is_not_modified(e):
                log.debug("preview in chat %s refused: %s", chat_id, e.message)
        except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as e:
            log.debug("preview in chat %s failed: %s", chat_id, type(e).__name__)
        return None
