"""Chat updates already answered: ``seen_updates``, keyed by source and the update's key."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa

from engine.clock import utcnow
from engine.store.tables import seen_updates
from engine.store.writer import Storage


class Answered:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def contains(self, source: str, key: str) -> bool:
        row = await self.storage.fetch_one(
            sa.select(seen_updates.c.key).where(seen_updates.c.source == source, seen_updates.c.key == key)
        )
        return row is not None

    async def add(self, source: str, key: str) -> None:
        """Durable on return; one marked already (by another process) is just as good."""
        with contextlib.suppress(sa.exc.IntegrityError):
            await self.storage.insert(seen_updates, {"source": source, "key": key, "seen_at": utcnow()})
