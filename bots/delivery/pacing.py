"""Per-channel pacing of Discord sends and edits.

discord.py already waits out the 429s Discord answers, but it retries a request
only a few times: many answers streaming into one channel at once could exhaust
those retries and lose a part. So we stay under Discord's per-channel limits
(about 5 messages and 5 edits per 5 s) ourselves and let 429 handling be the
exception, not the flow control.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque

SENDS_PER_WINDOW = 5
EDITS_PER_WINDOW = 5
# Our clock starts when a request leaves, Discord's when it arrives: a little slack so that
# a slot that is free here is free there too.
WINDOW_S = 5.0 + 0.5
MAX_CHANNELS = 10_000  # windows of channels idle for long are forgotten (LRU)


class Window:
    """At most ``limit`` events in any ``per`` seconds (a sliding window). Waiters get
    their slot reserved in arrival order, so a busy channel's parts keep their order."""

    __slots__ = ("limit", "per", "times")

    def __init__(self, limit: int, per: float) -> None:
        self.limit = limit
        self.per = per
        self.times: deque[float] = deque()  # past events and reserved future slots, ascending

    def _next_slot(self, now: float) -> float:
        while self.times and now - self.times[0] >= self.per:
            self.times.popleft()
        if len(self.times) < self.limit:
            return now
        return max(now, self.times[-self.limit] + self.per)

    def try_take(self) -> bool:
        """Take a slot if one is free right now."""
        now = time.monotonic()
        if self._next_slot(now) > now:
            return False
        self.times.append(now)
        return True

    async def take(self) -> None:
        """Wait for the next free slot."""
        now = time.monotonic()
        slot = self._next_slot(now)
        self.times.append(slot)
        if slot > now:
            await asyncio.sleep(slot - now)


class ChannelPacer:
    """The send and edit windows of every channel one bot writes to."""

    def __init__(
        self, *, sends: int = SENDS_PER_WINDOW, edits: int = EDITS_PER_WINDOW, per: float = WINDOW_S
    ) -> None:
        self._limits = (sends, edits, per)
        self._channels: OrderedDict[int, tuple[Window, Window]] = OrderedDict()

    def _windows(self, channel_id: int) -> tuple[Window, Window]:
        windows = self._channels.get(channel_id)
        if windows is None:
            sends, edits, per = self._limits
            windows = self._channels[channel_id] = (Window(sends, per), Window(edits, per))
            if len(self._channels) > MAX_CHANNELS:
                self._channels.popitem(last=False)
        else:
            self._channels.move_to_end(channel_id)
        return windows

    def sends(self, channel_id: int) -> Window:
        return self._windows(channel_id)[0]

    def edits(self, channel_id: int) -> Window:
        return self._windows(channel_id)[1]
