"""Per-user rate limits by tier, on the `limits` library (moving window).

The same limiter serves API keys (``key:<name>``) and chat users
(``telegram:<id>``); its storage is in-process memory by default and can be
Redis through a ``limits`` storage URI.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.aio.strategies import MovingWindowRateLimiter

from engine.errors import RateLimited


@dataclass(frozen=True, slots=True)
class Quota:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # unix seconds when the oldest counted request leaves the window

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))


class RateLimiter:
    def __init__(self, tiers: dict[str, str], storage_uri: str = "async+memory://") -> None:
        self._storage = storage_from_string(storage_uri)
        self._strategy = MovingWindowRateLimiter(self._storage)
        self.tiers: dict[str, RateLimitItem] = {}
        self.set_tiers(tiers)

    def set_tiers(self, tiers: dict[str, str]) -> None:
        # Counters live in the storage under the key, so already spent requests survive a change.
        self.tiers = {name: parse(rate) for name, rate in tiers.items()}

    async def hit(self, key: str, tier: str) -> Quota:
        item = self.tiers[tier]
        allowed = await self._strategy.hit(item, key)
        stats = await self._strategy.get_window_stats(item, key)
        return Quota(allowed, item.amount, stats.remaining, math.ceil(stats.reset_time))

    async def check(self, key: str, tier: str) -> Quota:
        """Count one request; raise `RateLimited` when over the tier's limit."""
        quota = await self.hit(key, tier)
        if not quota.allowed:
            raise RateLimited(
                f"rate limit exceeded: {self.tiers[tier]} for tier '{tier}'; retry in {quota.retry_after}s",
                {"limit": str(self.tiers[tier]), "retry_after": quota.retry_after},
                retry_after=quota.retry_after,
                reset_at=quota.reset_at,
            )
        return quota
