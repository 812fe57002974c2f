"""Conversation sessions: bounded, persisted history and one-at-a-time execution.

History lives in the database (it survives restarts) with a bounded in-memory
cache of recent sessions in front, so a busy conversation is not re-read on
every message. Executions of one session queue on a FIFO lock: a burst of
messages is answered in arrival order against a consistent history.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from engine.storage import Storage, session_turns, utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class Turn:
    role: str  # "user" or "assistant"
    content: str


class _Slot:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()  # asyncio.Lock wakes waiters in FIFO order
        self.users = 0


class Sessions:
    def __init__(self, storage: Storage, *, max_turns: int, cache_size: int = 10_000) -> None:
        self.storage = storage
        self.max_turns = max_turns  # a turn is one user message plus one answer
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[Turn, ...]] = OrderedDict()
        self._slots: dict[str, _Slot] = {}

    @asynccontextmanager
    async def exclusive(self, session_id: str) -> AsyncIterator[None]:
        """Hold the session for one execution; others of the same session wait in order."""
        slot = self._slots.get(session_id)
        if slot is None:
            slot = self._slots[session_id] = _Slot()
        slot.users += 1
        try:
            async with slot.lock:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._slots[session_id]

    async def history(self, session_id: str) -> tuple[Turn, ...]:
        cached = self._cache.get(session_id)
        if cached is not None:
            self._cache.move_to_end(session_id)
            return cached
        limit = self.max_turns * 2
        rows = await self.storage.fetch_all(
            sa.select(session_turns.c.role, session_turns.c.content)
            .where(session_turns.c.session_id == session_id)
            .order_by(session_turns.c.id.desc())
            .limit(limit)
        ) if limit else []
        turns = tuple(Turn(r.role, r.content) for r in reversed(rows))
        self._remember(session_id, turns)
        return turns

    async def append(self, session_id: str, user: str, assistant: str) -> None:
        """Persist one exchange (durable on return) and trim what falls out of the window."""
        if self.max_turns == 0:
            return
        now = utcnow()
        keep = self.max_turns * 2

        async def write(conn: AsyncConnection) -> None:
            await conn.execute(
                session_turns.insert(),
                [
                    {"session_id": session_id, "role": "user", "content": user, "created_at": now},
                    {"session_id": session_id, "role": "assistant", "content": assistant, "created_at": now},
                ],
            )
            newest = (
                sa.select(session_turns.c.id)
                .where(session_turns.c.session_id == session_id)
                .order_by(session_turns.c.id.desc())
                .limit(keep)
            )
            # Only the oldest few rows ever match, so this stays cheap on long conversations.
            await conn.execute(
                session_turns.delete().where(
                    session_turns.c.session_id == session_id,
                    session_turns.c.id < sa.select(sa.func.min(newest.subquery().c.id)).scalar_subquery(),
                )
            )

        await self.storage.write(write)
        before = self._cache.get(session_id)
        if before is not None:
            self._remember(session_id, (*before, Turn("user", user), Turn("assistant", assistant))[-keep:])

    async def reset(self, session_id: str) -> int:
        """Forget a session's history; returns how many messages were removed."""
        removed = 0

        async def write(conn: AsyncConnection) -> None:
            nonlocal removed
            result = await conn.execute(session_turns.delete().where(session_turns.c.session_id == session_id))
            removed = result.rowcount or 0

        async with self.exclusive(session_id):
            await self.storage.write(write)
            self._cache.pop(session_id, None)
        return removed

    def _remember(self, session_id: str, turns: tuple[Turn, ...]) -> None:
        self._cache[session_id] = turns
        self._cache.move_to_end(session_id)
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
