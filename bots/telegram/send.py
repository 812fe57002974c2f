"""Sending to Telegram politely: per-chat pacing (`bots.delivery.pacing` with the numbers of
`bots.telegram.limits`), flood-control retries, transient-error retries.

aiogram never retries a call by itself (a 429 surfaces as `TelegramRetryAfter`),
so this is where "wait ``retry_after`` and retry that call" lives. Pacing keeps
bursts under Telegram's per-chat limits in the first place, so 429s stay rare.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bots.delivery.pacing import Budget, Pacer
from bots.telegram.limits import limits

log = logging.getLogger("chatgate.bots.telegram")

T = TypeVar("T")

MAX_FLOOD_RETRIES = 6  # 429s for one call before giving up on it
TRANSIENT_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)  # network errors / 5xx: then give up


class DeliveryFailed(Exception):
    """Telegram stayed unreachable (or kept flood-limiting) past our retries."""


def is_not_modified(error: TelegramBadRequest) -> bool:
    return "message is not modified" in error.message


def is_bad_entities(error: TelegramBadRequest) -> bool:
    return "can't parse entities" in error.message or "can't find end" in error.message.lower()


def is_too_long(error: TelegramBadRequest) -> bool:
    return "too long" in error.message.lower()


class Sender:
    """Runs one Bot API call for a chat with pacing and retries."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

    def _budget(self, chat_id: int, group: bool) -> Budget:
        return self.pacer.lanes(chat_id, limits(group).pace).sends  # (sends and edits: one bucket)

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
                await self._budget(chat_id, group).take()
            try:
                return await call()
            except TelegramRetryAfter as e:
                flood += 1
                self._budget(chat_id, group).block(e.retry_after)
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
        if paced and not self._budget(chat_id, group).try_take():
            return None
        try:
            return await call()
        except TelegramRetryAfter as e:
            self._budget(chat_id, group).block(e.retry_after)
        except TelegramBadRequest as e:
            if not is_not_modified(e):
                log.debug("preview in chat %s refused: %s", chat_id, e.message)
        except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as e:
            log.debug("preview in chat %s failed: %s", chat_id, type(e).__name__)
        return None
