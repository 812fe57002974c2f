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
from typing import Any, Protocol

from bots.delivery.claims import Claim
from bots.delivery.inbox import Inbox

log = logging.getLogger("chatgate.bots.telegram")

SWEEP_EVERY_S = 2.0


POLL_LEASE = "telegram-poll"  # the lease on polling a token (whatever the bot is called in each config)


class Claimer(Protocol):
    """`bots.router.ChatRouter.claim`: claims an update of this bot for this process."""

    async def __call__(self, key: str, *, strict: bool = False) -> Claim: ...


async def claim_all(claim: Claimer, update_ids: list[int]) -> dict[int, Claim]:
    return {uid: await claim(str(uid)) for uid in update_ids}


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
        claim: Claimer,
        inbox: Inbox,
        source: str,
        *,
        known: set[int],
        adopt: Callable[[int, dict[str, Any]], Awaitable[None]],
    ) -> None:
        self.claim = claim
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
            claim = await self.claim(str(update_id), strict=True)
            if claim is Claim.DONE:
                self.inbox.done(update_id)  # answered; only its row was left behind
            elif claim is Claim.MINE:
                # Free (its claimer died, or Redis forgot it): ours to answer now. (HELD ones
                # are ours but were not delivered: they wait for this process's next start.)
                self.adopted += 1
                log.info("%s: answering update %s left by a process that stopped", self.source, update_id)
                await self.adopt(update_id, data)
