"""Receiving only while this process holds the bot's lease (`bots.delivery.leases`).

With several processes on one Redis only one may receive for a token (Telegram's
one ``getUpdates`` consumer, Discord's one gateway session): the others stand by
and one of them takes over within seconds when the holder stops or dies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bots.delivery.leases import Lease


async def serve_while_held(
    lease: Lease | None,
    stopping: asyncio.Event,
    serve: Callable[[asyncio.Event], Awaitable[None]],
    *,
    standing_by: Callable[[], None],
    log: logging.Logger,
    held: str,
    lost: str,
) -> None:
    """Run ``serve(lost)`` while the lease is held: it serves until it is done (a stop) or
    ``lost`` is set, then this stands by for the lease again. No lease (one process):
    ``serve`` runs once, with an event that is never set. ``held``/``lost``: log lines."""
    if lease is None:
        await serve(asyncio.Event())
        return
    while not stopping.is_set():
        standing_by()
        if not await lease.wait(stopping):
            return  # stopped while standing by
        log.info(held)
        await serve(lease.lost)
        if stopping.is_set() or not lease.lost.is_set():
            return
        log.warning(lost)
