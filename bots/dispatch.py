"""Fair, ordered, bounded handling of a bot's incoming messages.

A fixed pool of workers takes sessions (not messages) from a ready queue, so:
messages of one session are handled one at a time in arrival order; different
sessions run in parallel up to ``workers``; a session waiting for its turn holds
no worker; and a burst never spawns a task per message.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger("chatgate.bots")

T = TypeVar("T")


class SessionQueue(Generic[T]):
    def __init__(self, handle: Callable[[T], Awaitable[None]], *, workers: int) -> None:
        self._handle = handle
        self._pending: dict[str, deque[T]] = {}
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._active: set[str] = set()
        self._workers = [asyncio.create_task(self._work()) for _ in range(workers)]
        self._idle = asyncio.Event()
        self._idle.set()
        self._count = 0

    @property
    def in_flight(self) -> int:
        return len(self._active)

    @property
    def waiting(self) -> int:
        return self._count - len(self._active)

    def submit(self, session_id: str, item: T) -> None:
        """Queue an item; never blocks, keeps arrival order within the session."""
        queue = self._pending.get(session_id)
        if queue is None:
            queue = self._pending[session_id] = deque()
            if session_id not in self._active:
                self._ready.put_nowait(session_id)
        queue.append(item)
        self._count += 1
        self._idle.clear()

    async def _work(self) -> None:
        while True:
            session_id = await self._ready.get()
            queue = self._pending[session_id]
            item = queue.popleft()
            self._active.add(session_id)
            try:
                await self._handle(item)
            except Exception:
                log.exception("unhandled error while answering in session %s", session_id)
            finally:
                self._active.discard(session_id)
                self._count -= 1
                if queue:
                    self._ready.put_nowait(session_id)  # to the back: other sessions get their turn
                else:
                    del self._pending[session_id]
                if self._count == 0:
                    self._idle.set()

    async def drain(self) -> None:
        """Wait until everything submitted so far has been handled."""
        await self._idle.wait()

    async def close(self) -> None:
        for w in self._workers:
            w.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
