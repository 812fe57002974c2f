"""Fair, ordered, bounded handling of a bot's incoming messages.

A fixed pool of workers takes sessions (not messages) from a ready queue, so:
messages of one session are handled one at a time in arrival order; different
sessions run in parallel up to ``workers``; a session waiting for its turn holds
no worker; and a burst never spawns a task per message.

With several processes (``turns``, `engine.cluster.ordering`) a message takes its place in
its session's line the moment it arrives, before it waits here for a worker: the
session's messages are then handled in the order they arrived whichever process
received them, even when this one has a backlog and another is idle. The worker
holds that turn for everything it does with the message (skipping it, refusing it,
answering it; the executor does not wait for the session again), and leaving the
turn passes it on, so no path can forget to. A session whose turn is held in
another process waits in a task of its own, not in a worker: workers of two
processes waiting on each other's queues could otherwise wait forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from engine.cluster.ordering import RedisOrdering, Turn
from engine.errors import Unavailable

log = logging.getLogger("chatgate.bots")

T = TypeVar("T")


class SessionQueue(Generic[T]):
    def __init__(
        self,
        handle: Callable[[T], Awaitable[None]],
        *,
        workers: int,
        turns: RedisOrdering | None = None,
    ) -> None:
        self._handle = handle
        self._turns = turns
        self._pending: dict[str, deque[tuple[Turn | None, T]]] = {}
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._active: set[str] = set()
        self._waiting: dict[str, asyncio.Task[None]] = {}  # sessions whose turn is held elsewhere
        # This process's arrivals take tickets one at a time, so its queues are in ticket
        # order: a message queued behind a later ticket would never get its turn.
        self._arriving = asyncio.Lock()
        self._closed = False
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

    async def arrive(self, session_id: str, item: T) -> None:
        """Queue an item, first taking its place in the session's line across processes."""
        if self._turns is None:
            self._put(session_id, item)
            return
        async with self._arriving:
            turn = await self._turns.arrive(session_id)
            if self._closed:
                turn.drop()
                return
            self._put(session_id, item, turn)

    def _put(self, session_id: str, item: T, turn: Turn | None = None) -> None:
        """Queue an item; never blocks, keeps arrival order within the session."""
        queue = self._pending.get(session_id)
        fresh = queue is None
        if queue is None:
            queue = self._pending[session_id] = deque()
        queue.append((turn, item))
        self._count += 1
        self._idle.clear()
        if fresh and session_id not in self._active:
            self._to_workers(session_id)

    def _to_workers(self, session_id: str) -> None:
        """Ready the session for a worker once its first message's turn has come."""
        if self._closed:
            return
        turn, _ = self._pending[session_id][0]
        if turn is None or turn.ready:
            self._ready.put_nowait(session_id)
        else:
            self._waiting[session_id] = asyncio.create_task(self._wait_turn(session_id, turn))

    async def _wait_turn(self, session_id: str, turn: Turn) -> None:
        with contextlib.suppress(Unavailable):  # Redis went away: the turn is not waited for
            await turn.wait()
        del self._waiting[session_id]
        self._ready.put_nowait(session_id)

    async def _work(self) -> None:
        while True:
            session_id = await self._ready.get()
            queue = self._pending[session_id]
            turn, item = queue.popleft()
            self._active.add(session_id)
            try:
                if turn is None:
                    await self._handle(item)
                else:
                    async with turn:  # its turn has come: held while handled, then passed on
                        await self._handle(item)
            except Exception:
                log.exception("unhandled error while answering in session %s", session_id)
            finally:
                self._active.discard(session_id)
                self._count -= 1
                if queue:
                    self._to_workers(session_id)  # to the back: other sessions get their turn
                else:
                    del self._pending[session_id]
                if self._count == 0:
                    self._idle.set()

    async def drain(self) -> None:
        """Wait until everything submitted so far has been handled."""
        await self._idle.wait()

    async def close(self) -> None:
        self._closed = True
        tasks = [*self._workers, *self._waiting.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # Never handled here: their places in line go, or their sessions would wait for them.
        for queue in self._pending.values():
            for turn, _ in queue:
                if turn is not None:
                    turn.drop()
