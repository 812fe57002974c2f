"""A durable inbox, so an update Telegram considers delivered is never lost.

Telegram forgets an update once a later ``getUpdates`` passes its offset (or a
webhook call got its 200). Answers take seconds, and other chats' updates must
keep flowing meanwhile, so the offset runs ahead of the answers: without this
table, a crash (SIGKILL, OOM, power) would silently drop every update fetched
but not yet answered. Each update is written here (one group commit per batch)
*before* Telegram is told it arrived, removed once answered, and whatever is
left at startup is handled first. The router's ``seen_updates`` keys then make
sure nothing is answered twice. The rows themselves are `engine.store.inbox`'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import orjson

from engine.store.inbox import InboxRows
from engine.store.writer import Storage

log = logging.getLogger("chatgate.bots.telegram")


class Inbox:
    def __init__(self, storage: Storage, source: str) -> None:
        self.rows = InboxRows(storage, source)
        self._done: list[int] = []
        self._flushing: asyncio.Task[None] | None = None

    async def add(self, updates: Sequence[tuple[int, str]]) -> None:
        """Keep these (update_id, Update as JSON) durably; one already kept is left as it is."""
        if not updates:
            return
        await self.rows.add(updates)

    def done(self, update_id: int) -> None:
        """Forget an answered update. Not awaited and batched: if the deletion is lost in a
        crash, the update is resumed at the next start and the router's seen keys skip it."""
        self._done.append(update_id)
        if self._flushing is None:
            self._flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        try:
            while self._done:
                ids, self._done = self._done, []
                await self.rows.remove(ids)
        except Exception:
            log.warning(
                "could not clear answered updates from the inbox; they will be skipped at restart",
                exc_info=True,
            )
        finally:
            self._flushing = None

    async def close(self) -> None:
        """Write out pending deletions (graceful stop)."""
        if self._flushing is not None:
            await self._flushing

    async def pending(self) -> list[tuple[int, dict[str, Any]]]:
        """What a previous run received but did not finish, oldest first."""
        return [(uid, orjson.loads(payload)) for uid, payload in await self.rows.pending()]
