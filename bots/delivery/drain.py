"""Finishing in-flight answers on stop, within a grace period."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bots.delivery.dispatch import SessionQueue


async def drain(
    queue: SessionQueue[Any], grace_s: float, *, log: logging.Logger, bot: str, left: str
) -> None:
    """Let what is queued and running finish, for at most ``grace_s``; then say how many
    answers did not, and ``left``: what becomes of them on this platform."""
    try:
        async with asyncio.timeout(grace_s):
            await queue.drain()
    except TimeoutError:
        log.warning(
            "%s: %d answer(s) still running after %.0fs; %s",
            bot,
            queue.in_flight + queue.waiting,
            grace_s,
            left,
        )
