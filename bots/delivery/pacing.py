"""Pacing what one bot sends into each conversation, under the platform's limits.

Both platforms limit messages and edits per chat or channel, and both answer a
burst with "retry after" (429): we stay under the limits ourselves so that 429s
stay the exception, not the flow control. What must arrive (an answer's parts)
waits for its slot with `Budget.take`; what may be skipped (a preview edit)
asks `Budget.try_take` and gives up when the budget is spent, so a preview never
delays the real answer. Which budgets a conversation gets comes from the
platform's `bots.delivery.limits.Limits`.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_CONVERSATIONS = 10_000  # budgets of conversations idle for long are forgotten (LRU)


class Budget(ABC):
    """How many events one conversation may still have now. The platform's own "retry
    after" blocks it whatever the count says."""

    __slots__ = ("blocked_until",)

    def __init__(self) -> None:
        self.blocked_until = 0.0

    def block(self, seconds: float) -> None:
        self.blocked_until = max(self.blocked_until, time.monotonic() + seconds)

    def blocked(self) -> bool:
        return self.blocked_until > time.monotonic()

    @abstractmethod
    def try_take(self) -> bool:
        """Take a slot if one is free right now."""

    @abstractmethod
    async def take(self) -> None:
        """Wait for the next free slot."""


class Window(Budget):
    """At most ``limit`` events in any ``per`` seconds (a sliding window). Waiters get
    their slot reserved in arrival order, so a busy conversation's parts keep their order."""

    __slots__ = ("limit", "per", "times")

    def __init__(self, limit: int, per: float) -> None:
        super().__init__()
        self.limit = limit
        self.per = per
        self.times: deque[float] = deque()  # past events and reserved future slots, ascending

    def _next_slot(self, now: float) -> float:
        while self.times and now - self.times[0] >= self.per:
            self.times.popleft()
        free = now if len(self.times) < self.limit else max(now, self.times[-self.limit] + self.per)
        return max(free, self.blocked_until)

    def try_take(self) -> bool:
        now = time.monotonic()
        if self._next_slot(now) > now:
            return False
        self.times.append(now)
        return True

    async def take(self) -> None:
        now = time.monotonic()
        slot = self._next_slot(now)
        self.times.append(slot)
        if slot > now:
            await asyncio.sleep(slot - now)


class Bucket(Budget):
    """A token bucket: ``burst`` events at once, refilled at ``rate`` per second."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, burst: float, rate: float) -> None:
        super().__init__()
        self.burst = burst
        self.rate = rate
        self.tokens = burst
        self.stamp = time.monotonic()

    def _wait_time(self, now: float) -> float:
        """Seconds until an event is allowed; takes the token when it is 0."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.blocked_until > now:
            return self.blocked_until - now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def try_take(self) -> bool:
        return self._wait_time(time.monotonic()) == 0.0

    async def take(self) -> None:
        while True:
            wait = self._wait_time(time.monotonic())
            if wait <= 0:
                return
            await asyncio.sleep(wait)


@dataclass(frozen=True, slots=True)
class Lanes:
    """A conversation's budgets for new messages and for edits (one budget may be both)."""

    sends: Budget
    edits: Budget


class Pacer:
    """The lanes of every conversation one bot writes to."""

    def __init__(self, *, most: int = MAX_CONVERSATIONS) -> None:
        self._most = most
        self._lanes: OrderedDict[int, Lanes] = OrderedDict()

    def lanes(self, conversation: int, make: Callable[[], Lanes]) -> Lanes:
        """The conversation's lanes; ``make`` (the platform's limits) opens them on first use."""
        lanes = self._lanes.get(conversation)
        if lanes is None:
            lanes = self._lanes[conversation] = make()
            if len(self._lanes) > self._most:
                self._lanes.popitem(last=False)
        else:
            self._lanes.move_to_end(conversation)
        return lanes

    def blocked(self, conversation: int) -> bool:
        """The platform told us to wait in this conversation (asked without opening lanes)."""
        lanes = self._lanes.get(conversation)
        return lanes is not None and (lanes.sends.blocked() or lanes.edits.blocked())
