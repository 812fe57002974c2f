"""Which Discord messages are certainly new to this process, so the storage lookup
behind exactly-once can be skipped for them.

A Discord id (snowflake) carries its creation time. A message created after this
adapter started cannot have been answered by an earlier process, so for it an
in-memory set of the ids taken in here is the whole truth. Anything older — a
replay after a long outage, a redelivery after a restart — still goes through the
router's ``already_handled``, which asks the database. This saves one database read
per message: about a third of the CPU a message costs (benchmarks/discord_messages.py).
With several chatgate processes sharing state the adapter asks the router every
time instead: memory knows only its own process.
"""

from __future__ import annotations

import time
from collections import OrderedDict

DISCORD_EPOCH_S = 1_420_070_400.0
# Discord's clock and ours may disagree by this much. Getting it wrong would matter only
# if Discord delivered an old message to a new session, which it never does (only a RESUME
# replays, and a RESUME continues this adapter's own session): the lookup that remains for
# older messages is a safety net, not the common path.
CLOCK_SLACK_S = 10.0
WINDOW_S = 120.0  # ids are remembered this long (Discord time); older ones ask storage


def created_at(snowflake: int) -> float:
    """Unix time a Discord id was made."""
    return (snowflake >> 22) / 1000 + DISCORD_EPOCH_S


class RecentIds:
    def __init__(self, *, window_s: float = WINDOW_S, slack_s: float = CLOCK_SLACK_S) -> None:
        self.window_s = window_s
        self.fresh_after = time.time() + slack_s
        self._ids: OrderedDict[int, float] = OrderedDict()  # id -> creation time, oldest first

    def take(self, snowflake: int) -> bool | None:
        """True: new, and now remembered (no storage lookup needed). False: already taken in
        by this process. None: too old to tell from memory; ask storage."""
        now = time.time()
        while self._ids:
            oldest, created = next(iter(self._ids.items()))
            if created >= now - self.window_s:
                break
            del self._ids[oldest]
        created = created_at(snowflake)
        if created < self.fresh_after or created < now - self.window_s:
            return None
        if snowflake in self._ids:
            return False
        self._ids[snowflake] = created
        return True
