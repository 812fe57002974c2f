"""Keys of incoming events already handled, so a redelivered one is not handled twice.

The engine knows nothing of platforms: a source is any string ("telegram:tg-main")
and a key any id unique within it (an update_id, a message id).

One process (no Redis): the database's ``seen_updates`` is the whole truth, with the
keys this process marked cached in memory; the platform adapters already keep one
process from handling an event twice at once.

Several processes (Redis): an event is first *claimed*, atomically, with a Redis
key holding the claiming process's name (the compare-and-set in ``_CLAIM``), so two
processes receiving the same update never both handle it. The claim lasts while
its process is alive (`engine.cluster.link` heartbeat): the update of a process that
died is free again within seconds. Once answered, the durable mark goes to the
database and the claim becomes ``done``. The database is still asked before
anything is handled, so a Redis that restarted empty never causes a repeat.

If Redis cannot be reached, claiming falls back to the database alone: nothing
answered is answered again, but two processes handed the same update at the same
moment could both answer it (only a redelivery racing the original can do that).
"""

from __future__ import annotations

import contextlib
import enum
import time
from collections import OrderedDict

from redis.exceptions import RedisError

from engine.cluster import keys
from engine.cluster.link import ALIVE_PREFIX, SharedState
from engine.store.answered import Answered
from engine.store.writer import Storage

CLAIM_PREFIX = keys.CLAIM
CLOCK_SLACK_S = 10.0  # the platforms' clocks and ours may disagree by this much
FRESH_WINDOW_S = 120.0  # recent enough that memory (cache_size keys) still holds it
CLAIM_TTL_MS = 86_400_000  # a live process's claim: as long as an update may wait in its queue
DONE_TTL_MS = 3_600_000  # answered: redeliveries within the hour skip without a database read

# 0: ours already; 1: ours now (it was free, or its claimer died); 2: a live process has it;
# 3: answered.
_CLAIM = """
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then return 0 end
if cur == 'done' then return 3 end
if cur and redis.call('EXISTS', ARGV[2] .. cur) == 1 then return 2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""


class Claim(enum.Enum):
    MINE = "mine"  # handle it (then `mark` it): it was free, or its claimer died
    HELD = "held"  # handle it: this process had claimed it before
    ELSEWHERE = "elsewhere"  # another live process is handling it
    DONE = "done"  # answered already

    @property
    def ours(self) -> bool:
        return self is Claim.MINE or self is Claim.HELD


class SeenKeys:
    def __init__(
        self, storage: Storage, *, shared: SharedState | None = None, cache_size: int = 100_000
    ) -> None:
        self.storage = storage
        self.answered = Answered(storage)
        self.shared = shared
        self.cache_size = cache_size
        self._recent: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.fresh_after = time.time() + CLOCK_SLACK_S
        if shared is not None:
            self._claim = shared.redis.register_script(_CLAIM)

    async def claim(
        self, source: str, key: str, sent_at: float | None = None, *, strict: bool = False
    ) -> Claim:
        """May this process handle the event? Claiming twice from one process is harmless.
        ``strict``: without an answer from Redis, assume another process has it (for taking
        over others' leftovers, which only Redis can tell from their work in progress).

        ``sent_at`` (the platform's clock) lets a lone process skip the database: an event
        sent after this process started cannot have been handled by an earlier one, so
        memory alone knows, while the event is recent enough to still be in memory."""
        if (source, key) in self._recent:
            return Claim.DONE
        shared = self.shared
        fresh = sent_at is not None and sent_at > max(self.fresh_after, time.time() - FRESH_WINDOW_S)
        if shared is None and fresh:
            self._remember(source, key)  # taken in: a second delivery of it is a repeat
            return Claim.MINE
        held = False
        if shared is not None:
            try:
                got = await self._claim(
                    keys=[_redis_key(source, key)], args=[shared.owner, ALIVE_PREFIX, CLAIM_TTL_MS]
                )
            except RedisError as e:
                shared.failed(e)
                if strict:
                    return Claim.ELSEWHERE
                # Otherwise the database alone decides (see the module's docstring).
            else:
                shared.succeeded()
                if got == 0:
                    held = True
                elif got == 2:
                    return Claim.ELSEWHERE
                elif got == 3:
                    return Claim.DONE
        if await self.seen(source, key):
            self._remember(source, key)
            await self._redis_done(source, key)
            return Claim.DONE
        return Claim.HELD if held else Claim.MINE

    async def seen(self, source: str, key: str) -> bool:
        """Answered already, according to this process's memory or the database."""
        if (source, key) in self._recent:
            return True
        return await self.answered.contains(source, key)

    async def mark(self, source: str, key: str) -> None:
        """Answered: durable on return, and the claim (if any) becomes ``done``."""
        if (source, key) in self._recent:
            return
        # Marked by another process already (it took the event over from us): just as good.
        await self.answered.add(source, key)
        self._remember(source, key)
        await self._redis_done(source, key)

    def _remember(self, source: str, key: str) -> None:
        self._recent[(source, key)] = None
        if len(self._recent) > self.cache_size:
            self._recent.popitem(last=False)

    async def _redis_done(self, source: str, key: str) -> None:
        if self.shared is None:
            return
        # Best effort: the database already has the truth; this only saves later lookups.
        with contextlib.suppress(RedisError):
            await self.shared.redis.set(_redis_key(source, key), "done", px=DONE_TTL_MS)


def _redis_key(source: str, key: str) -> str:
    return f"{CLAIM_PREFIX}{source}:{key}"
