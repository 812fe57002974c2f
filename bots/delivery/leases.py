"""Leases: work only one chatgate process may do at a time, such as polling a
Telegram bot (Telegram allows one consumer per token) or holding a Discord gateway.

A lease is a Redis key holding its holder's name with a time to live (``SET NX
PX``), renewed by the holder with a compare-and-set script, so a holder can only
ever extend or give up its own lease. A holder that dies stops renewing; after
the time to live another process, retrying every second, takes the lease over.

A holder that cannot renew (Redis away, or cut off from it) steps down before its
key could have expired, so two processes never believe they hold the same lease
at the same time. When Redis restarts empty, the holder re-takes its lease on its
next renewal unless another process was quicker; then it steps down.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from typing import Any

from redis.exceptions import RedisError

from engine.cluster import keys
from engine.cluster.link import SharedState

log = logging.getLogger("chatgate.shared")

LEASE_TTL_MS = 6_000
RENEW_EVERY_S = 1.5
ACQUIRE_EVERY_S = 1.0
# Step down this long before the key could expire: timers and the network are not exact.
STEP_DOWN_MARGIN_S = 1.0

# Extend our own lease; take it again if Redis lost it (a restart). 0: someone else holds it.
_RENEW = """
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    def __init__(self, shared: SharedState, name: str, *, ttl_ms: int = LEASE_TTL_MS) -> None:
        self.shared = shared
        self.name = name
        self.key = keys.LEASE + name
        self.ttl_ms = ttl_ms
        self.held = False
        self.holder: str | None = None  # as last seen: us, another process, or nobody
        self.lost = asyncio.Event()  # set when a lease we held is gone
        self._renew = shared.redis.register_script(_RENEW)
        self._release = shared.redis.register_script(_RELEASE)
        self._keeper: asyncio.Task[None] | None = None

    async def acquire(self) -> bool:
        """Take the lease if nobody holds it; True when we hold it now."""
        if self.held:
            return True
        me = self.shared.owner
        try:
            taken = await self.shared.redis.set(self.key, me, nx=True, px=self.ttl_ms)
            holder = me if taken else await self.shared.redis.get(self.key)
        except RedisError as e:
            self.shared.failed(e)
            return False
        self.shared.succeeded()
        self.holder = holder.decode() if isinstance(holder, bytes) else holder
        if self.holder != me:
            return False
        self.held = True
        self.lost.clear()
        self._keeper = asyncio.create_task(self._keep(time.monotonic()), name=f"lease:{self.name}")
        return True

    async def wait(self, stopping: asyncio.Event) -> bool:
        """Until we hold the lease (True) or ``stopping`` is set (False)."""
        while not stopping.is_set():
            if await self.acquire():
                return True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ACQUIRE_EVERY_S):
                    await stopping.wait()
        return False

    async def _keep(self, last_ok: float) -> None:
        deadline_s = self.ttl_ms / 1000 - STEP_DOWN_MARGIN_S
        try:
            while True:
                await asyncio.sleep(RENEW_EVERY_S)
                sent = time.monotonic()
                try:
                    renewed = await self._renew(keys=[self.key], args=[self.shared.owner, self.ttl_ms])
                except RedisError as e:
                    self.shared.failed(e)
                    if time.monotonic() - last_ok >= deadline_s:
                        log.warning("lease %s: cannot renew it (Redis unreachable); stepping down", self.name)
                        return
                    continue
                self.shared.succeeded()
                if not renewed:
                    log.warning("lease %s: another process holds it now; stepping down", self.name)
                    self.holder = None
                    return
                last_ok = sent
        finally:
            self.held = False
            self.lost.set()

    async def release(self) -> None:
        """Give the lease up (graceful stop): a standby takes over within a second."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
            with contextlib.suppress(RedisError):
                await self._release(keys=[self.key], args=[self.shared.owner])
        self.held = False

    def health(self) -> dict[str, Any]:
        return {"held": self.held, "holder": self.holder}


def token_lease(shared: SharedState, purpose: str, token: str) -> Lease:
    """The lease on one use of a bot token (whatever the bot is named in each process's
    config), named by a digest: tokens never reach Redis."""
    return Lease(shared, f"{purpose}:{hashlib.sha256(token.encode()).hexdigest()[:16]}")
