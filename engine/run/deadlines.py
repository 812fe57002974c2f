"""Time limits for running nodes: every limit in one heap, one loop timer for all.

``asyncio.timeout_at`` gives each limit a timer of its own; on uvloop a timer is a
libuv handle that is created, started, stopped and closed (through a callback), and
that cost about a twentieth of an offline execution. Here a limit is a heap entry
and one timer is kept for the earliest of them. The semantics are asyncio's: when a
limit passes, the task running the block is cancelled and the block raises
``TimeoutError``; a cancellation from anywhere else passes through unchanged.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from types import TracebackType


class Deadlines:
    """Use as ``async with deadlines.at(when):`` (``when`` in loop time)."""

    # Entries of finished blocks stay in the heap until they reach its top (removing them
    # one by one would cost a search each); the heap is rebuilt from the live ones when
    # the dead outnumber them, so memory follows what is running, not what ran.
    COMPACT_ABOVE = 1024

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Limit]] = []
        self._order = itertools.count()  # ties in time keep their order; limits are never compared
        self._live = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def at(self, when: float) -> Limit:
        return Limit(self, when)

    def _add(self, limit: Limit) -> None:
        heapq.heappush(self._heap, (limit.when, next(self._order), limit))
        self._live += 1
        if limit.when < self._timer_at:
            self._schedule(limit.when)

    def _discard(self, limit: Limit) -> None:
        limit.active = False
        self._live -= 1
        if len(self._heap) > self.COMPACT_ABOVE and len(self._heap) > 2 * self._live:
            self._heap = [entry for entry in self._heap if entry[2].active]
            heapq.heapify(self._heap)

    def _schedule(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(when, self._fire)
        self._timer_at = when

    def _fire(self) -> None:
        self._timer, self._timer_at = None, math.inf
        now = asyncio.get_running_loop().time()
        heap = self._heap
        while heap and heap[0][0] <= now:
            limit = heapq.heappop(heap)[2]
            if limit.active:
                limit.active = False
                self._live -= 1
                limit.expire()
        while heap and not heap[0][2].active:  # the next timer is for a live limit
            heapq.heappop(heap)
        if heap:
            self._schedule(heap[0][0])


class Limit:
    """One block's limit; cancels its task when the time comes (as ``asyncio.Timeout``)."""

    __slots__ = ("active", "cancelling", "deadlines", "expired", "task", "when")

    def __init__(self, deadlines: Deadlines, when: float) -> None:
        self.deadlines = deadlines
        self.when = when
        self.active = False
        self.expired = False
        self.cancelling = 0
        self.task: asyncio.Task[object] | None = None

    async def __aenter__(self) -> Limit:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a time limit must be used inside a task")
        self.task = task
        self.cancelling = task.cancelling()
        self.active = True
        self.deadlines._add(self)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.active:
            self.deadlines._discard(self)
        elif self.expired:
            assert self.task is not None
            # Our cancellation, not someone else's: it becomes the timeout.
            if self.task.uncancel() <= self.cancelling and exc_type is asyncio.CancelledError:
                raise TimeoutError from exc

    def expire(self) -> None:
        self.expired = True
        assert self.task is not None
        self.task.cancel()
