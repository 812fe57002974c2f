"""The Telegram adapter when several chatgate processes share one Redis (``redis_url``).

* **Claims at receipt.** An update is claimed (`bots.delivery.claims`) before it is kept in
  the shared inbox: the process that claims it answers it; one receiving it again
  (Telegram retrying a webhook call at another process, a new poller fetching what
  the last one never acknowledged) keeps it in the inbox, acknowledges Telegram,
  and leaves it to the claimer; one already answered is dropped.
* **Orphans.** A process that dies leaves claimed updates in the inbox. Its claims
  lapse with its heartbeat, and every live process sweeps the inbox every
  ``SWEEP_EVERY_S`` for updates whose claimer is gone, claims and answers them.
  So a webhook acknowledged by a process that crashed a moment later is still answered.
* **One poller.** Telegram allows one ``getUpdates`` consumer per token: with long
  polling, only the process holding the bot's lease (`bots.delivery.leases`) polls; the
  others stand by and one takes over within seconds when the holder dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bots.delivery.claims import Claim, SeenKeys
from bots.delivery.inbox import Inbox
from bots.delivery.leases import Lease, token_lease
from engine.cluster.link import SharedState

log = logging.getLogger("chatgate.bots.telegram")

SWEEP_EVERY_S = 2.0


def poll_lease(shared: SharedState, token: str) -> Lease:
    """The lease on polling this token (whatever the bot is called in each config)."""
    return token_lease(shared, "telegram-poll", token)


async def claim_all(seen: SeenKeys, source: str, update_ids: list[int]) -> dict[int, Claim]:
    return {uid: await seen.claim(source, str(uid)) for uid in update_ids}


@contextlib.asynccontextmanager
async def either(*events: asyncio.Event) -> AsyncIterator[asyncio.Event]:
    """An event set as soon as any of ``events`` is."""
    combined = asyncio.Event()

    async def watch(event: asyncio.Event) -> None:
        await event.wait()
        combined.set()

    watchers = [asyncio.create_task(watch(e)) for e in events]
    try:
        yield combined
    finally:
        for w in watchers:
            w.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)


class OrphanSweeper:
    """Takes over the updates in the shared inbox whose claimer died."""

    def __init__(
        self,
        seen: SeenKeys,
        inbox: Inbox,
        source: str,
        *,
        known: set[int],
        adopt: Callable[[int, dict[str, Any]], Awaitable[None]],
    ) -> None:
        self.seen = seen
        self.inbox = inbox
        self.source = source
        self.known = known  # queued or being answered here
        self.adopt = adopt
        self.adopted = 0

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as e:  # the database or Redis away: try again next round
                log.warning("%s: could not look for orphaned updates (%s)", self.source, type(e).__name__)
            await asyncio.sleep(SWEEP_EVERY_S)

    async def sweep(self) -> None:
        for update_id, data in await self.inbox.pending():
            if update_id in self.known:
                continue
            claim = await self.seen.claim(self.source, str(update_id), strict=True)
            if claim is Claim.DONE:
                self.inbox.done(update_id)  # answered; only its row was left behind
            elif claim is Claim.MINE:
                # Free (its claimer died, or Redis forgot it): ours to answer now. (HELD ones
                # are ours but were not delivered: they wait for this process's next start.)
                self.adopted += 1
                log.info("%s: answering update %s left by a process that stopped", self.source, update_id)
                await self.adopt(update_id, data)
