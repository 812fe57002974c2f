"""Keys of incoming events already handled, so a redelivered one is not handled twice.

The engine knows nothing of platforms: a source is any string ("telegram:tg-main")
and a key any id unique within it (an update_id, a message id).
"""

from __future__ import annotations

from collections import OrderedDict

import sqlalchemy as sa

from engine.storage import Storage, seen_updates, utcnow


class SeenKeys:
    def __init__(self, storage: Storage, *, cache_size: int = 100_000) -> None:
        self.storage = storage
        self.cache_size = cache_size
        self._recent: OrderedDict[tuple[str, str], None] = OrderedDict()

    async def seen(self, source: str, key: str) -> bool:
        if (source, key) in self._recent:
            return True
        row = await self.storage.fetch_one(
            sa.select(seen_updates.c.key).where(seen_updates.c.source == source, seen_updates.c.key == key)
        )
        return row is not None

    async def mark(self, source: str, key: str) -> None:
        """Durable on return."""
        if (source, key) in self._recent:
            return
        await self.storage.insert(seen_updates, {"source": source, "key": key, "seen_at": utcnow()})
        self._recent[(source, key)] = None
        if len(self._recent) > self.cache_size:
            self._recent.popitem(last=False)
