"""Per-user rate limits by tier, on the `limits` library (moving window).

The same limiter serves API keys (``key:<name>``) and chat users
(``telegram:<id>``); its storage is in-process memory by default and can be
Redis through a ``limits`` storage URI. `limits` parses the rates and, on Redis,
owns the whole decision; in memory a request is one call into the window (see
`MovingWindowMemory.take`), since this is paid on every API request and chat message.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any, NamedTuple

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from engine.cluster import keys
from engine.cluster.link import bounded_pool
from engine.errors import RateLimited, Unavailable


class Quota(NamedTuple):
    allowed: bool
    limit: int
    remaining: int
    reset_time: float  # unix time when the oldest counted request leaves the window

    @property
    def reset_at(self) -> int:
        """Whole unix seconds, as the X-Rate-Limit-Reset header carries it."""
        return math.ceil(self.reset_time)

    @property
    def retry_after(self) -> int:
        # From the exact reset time: rounding twice would promise 61 s on a one-minute window.
        return max(1, math.ceil(self.reset_time - time.time()))


REDIS_POOL_SIZE = 128
REDIS_TIMEOUT_S = 1.0  # a Redis outage must fail requests fast, not hang them


class _Hits(deque[float]):
    """One key's hits in its moving window, oldest first (unix times)."""

    __slots__ = ("expiry",)

    def __init__(self, expiry: int) -> None:
        super().__init__()
        self.expiry = expiry

    def expire(self, now: float) -> None:
        start = now - self.expiry
        while self and self[0] < start:
            self.popleft()


class MovingWindowMemory:
    """The in-process moving windows: each key's hits in a deque, oldest first.

    `limits`' own memory storage keeps a key's hits in a list, newest first, and puts
    every new hit at the front, copying the whole window: for a key allowed 100,000 a
    minute and used that much, that copy costs more than the rest of a request. Here a
    hit is appended and expired hits leave from the other end, both O(1), with the same
    decisions. And a request is one call (`take`) where `limits`' strategy makes two
    awaited storage calls (count the hit, then read the window for the headers): one call
    took an eighth off the cost of a static API answer (65 → 57 µs). Hits expire when
    their key is next used; keys nobody uses are swept once a second.
    """

    SWEEP_EVERY_S = 1.0

    def __init__(self) -> None:
        self.windows: dict[str, _Hits] = {}
        self._next_sweep = 0.0

    def take(self, key: str, limit: int, expiry: int) -> tuple[bool, float, int]:
        """Count one hit if the window has room. Returns whether it did, the window's
        start (its oldest hit, or now) and how many hits it holds now."""
        now = time.time()
        if now >= self._next_sweep:
            self._sweep(now)
        hits = self.windows.get(key)
        if hits is None:
            hits = self.windows[key] = _Hits(expiry)
        hits.expiry = expiry  # a tier's period may change on reload
        hits.expire(now)
        allowed = len(hits) < limit
        if allowed:
            hits.append(now)
        return allowed, (hits[0] if hits else now), len(hits)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.SWEEP_EVERY_S
        for key, hits in list(self.windows.items()):
            hits.expire(now)
            if not hits:
                del self.windows[key]


def _tier_key(self: RateLimitItem, *identifiers: bytes | str | int | float) -> str:
    return "/".join((self.namespace, *(str(i) for i in identifiers)))


_PER_TIER: dict[type[RateLimitItem], type[RateLimitItem]] = {}


def _per_tier(item: RateLimitItem, tier: str) -> RateLimitItem:
    """The same limit, counted under the tier's name and the caller's key. `limits` puts
    the amount and period into the storage key instead, so a tier whose rate changed on
    reload would have started everyone at zero. (A subclass without its own GRANULARITY
    is not entered in `limits`' parse registry.)"""
    base = type(item)
    cls = _PER_TIER.get(base)
    if cls is None:
        body = {"__slots__": (), "key_for": _tier_key}
        cls = _PER_TIER[base] = type(f"PerTier{base.__name__}", (base,), body)
    return cls(item.amount, item.multiples, f"chatgate/{tier}")


class RateLimiter:
    def __init__(self, tiers: dict[str, str], redis_url: str | None = None) -> None:
        # In-process memory by default; with Redis every process counts against the same
        # windows, through `limits`' Redis storage and strategy.
        self.memory = MovingWindowMemory() if redis_url is None else None
        self._strategy: MovingWindowRateLimiter | None = None
        if redis_url is not None:
            pool = bounded_pool(redis_url, size=REDIS_POOL_SIZE, socket_s=REDIS_TIMEOUT_S)
            storage: Any = storage_from_string(
                "async+" + redis_url,
                implementation="redispy",
                connection_pool=pool,  # type: ignore[arg-type]  # limits passes it on to redis-py
                key_prefix=keys.RATE_LIMITS,
            )
            self._strategy = MovingWindowRateLimiter(storage)
        self.tiers: dict[str, RateLimitItem] = {}
        self.set_tiers(tiers)

    def set_tiers(self, tiers: dict[str, str]) -> None:
        # Counters live in the storage under the tier's name and the caller (see _per_tier),
        # so requests already spent still count after a tier's rate changes on reload.
        self.tiers = {name: _per_tier(parse(rate), name) for name, rate in tiers.items()}

    async def hit(self, key: str, tier: str) -> Quota:
        item = self.tiers[tier]
        if self.memory is not None:
            expiry = item.get_expiry()
            allowed, start, count = self.memory.take(item.key_for(key), item.amount, expiry)
            return Quota(allowed, item.amount, item.amount - count, start + expiry)
        assert self._strategy is not None
        try:
            allowed = await self._strategy.hit(item, key)
            stats = await self._strategy.get_window_stats(item, key)
        except Exception as e:
            # Without the shared counter no limit can be enforced: refuse fast rather than
            # wait or let everything through.
            raise Unavailable(
                "rate limiting is unavailable: Redis cannot be reached; retry shortly",
                {"service": "redis", "error": type(e).__name__},
            ) from None
        return Quota(allowed, item.amount, stats.remaining, stats.reset_time)

    async def check(self, key: str, tier: str) -> Quota:
        """Count one request; raise `RateLimited` when over the tier's limit."""
        quota = await self.hit(key, tier)
        if not quota.allowed:
            raise self.exceeded(quota, tier)
        return quota

    def exceeded(self, quota: Quota, tier: str) -> RateLimited:
        """The error for a refused request: what the limit is and when to come back."""
        return RateLimited(
            f"rate limit exceeded: {self.tiers[tier]} for tier '{tier}'; retry in {quota.retry_after}s",
            {"limit": str(self.tiers[tier]), "retry_after": quota.retry_after},
            retry_after=quota.retry_after,
            reset_at=quota.reset_at,
        )
