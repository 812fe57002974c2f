"""Whose turn it is in a session, across every chatgate process sharing one Redis.

A ticket lock on Redis primitives: a message takes a ticket when it arrives (INCR,
so tickets follow arrival order whichever process received it) and runs when the
session's ``serving`` counter reaches the ticket before it. Releasing advances the
counter and wakes the next ticket's waiter through a list it blocks on (BLPOP).

A process that dies while holding a turn, or before taking one it was given, stops
refreshing its short lease; waiters then skip that ticket with an atomic check, so a
crash delays a session by at most the lease, never forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from engine.errors import Unavailable
from engine.shared import bounded_pool

LEASE_MS = 5_000  # a holder silent for this long is taken for dead
WAKE_POLL_S = 1.0
IDLE_EXPIRY_S = 86_400
POOL_SIZE = 512  # how often a waiter re-checks even without a wake-up

# Advance ``serving`` from ``expected`` to ``expected + 1`` only if nobody holds the turn:
# the caller saw the lease expire. Returns 1 when it advanced.
_SKIP_DEAD = """
local serving = tonumber(redis.call('GET', KEYS[1]) or '0')
if serving == tonumber(ARGV[1]) and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('INCR', KEYS[1])
  redis.call('SET', KEYS[2], 'granted', 'PX', ARGV[2])
  redis.call('RPUSH', KEYS[3] .. (tonumber(ARGV[1]) + 2), '1')
  redis.call('PEXPIRE', KEYS[3] .. (tonumber(ARGV[1]) + 2), ARGV[2])
  return 1
end
return 0
"""

# Release: only the holder of ``ticket`` may advance, so a late release after a skip is a no-op.
_RELEASE = """
local serving = tonumber(redis.call('GET', KEYS[1]) or '0')
if serving == tonumber(ARGV[1]) - 1 then
  redis.call('INCR', KEYS[1])
  redis.call('SET', KEYS[2], 'granted', 'PX', ARGV[2])
  redis.call('RPUSH', KEYS[3] .. (tonumber(ARGV[1]) + 1), '1')
  redis.call('PEXPIRE', KEYS[3] .. (tonumber(ARGV[1]) + 1), ARGV[2])
  return 1
end
return 0
"""


class RedisOrdering:
    def __init__(self, redis_url: str, *, prefix: str = "chatgate:turns") -> None:
        # Its own bounded pool, on which a burst waits rather than fails: waiters hold a
        # connection in BLPOP, which must not starve the short commands of other parts.
        self.redis = aioredis.Redis.from_pool(bounded_pool(redis_url, size=POOL_SIZE, wait_s=10, socket_s=5))
        self.prefix = prefix
        self.owner = f"{os.getpid()}:{os.urandom(4).hex()}"
        self._skip = self.redis.register_script(_SKIP_DEAD)
        self._release = self.redis.register_script(_RELEASE)

    def _keys(self, session_id: str) -> tuple[str, str, str, str]:
        base = f"{self.prefix}:{session_id}"
        return f"{base}:next", f"{base}:serving", f"{base}:holder", f"{base}:wake:"

    def hold(self, session_id: str) -> Turn:
        """``async with``: wait for this session's turn, hold it, pass it on."""
        return Turn(self, session_id)

    async def aclose(self) -> None:
        await self.redis.aclose()


class Turn:
    def __init__(self, turns: RedisOrdering, session_id: str) -> None:
        self.turns = turns
        self.session_id = session_id
        self.ticket = 0
        self._refresh: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        r = self.turns.redis
        next_key, serving_key, holder_key, wake = self.turns._keys(self.session_id)
        try:
            async with r.pipeline(transaction=True) as pipe:
                # Counters of a session idle for a day go away together.
                pipe.incr(next_key)
                pipe.expire(next_key, IDLE_EXPIRY_S)
                pipe.expire(serving_key, IDLE_EXPIRY_S)
                self.ticket = int((await pipe.execute())[0])
            while True:
                serving = int(await r.get(serving_key) or 0)
                if serving >= self.ticket - 1:
                    break
                # Not our turn: sleep until woken, then check whether the holder died.
                woke = await r.blpop([f"{wake}{self.ticket}"], timeout=WAKE_POLL_S)
                if woke is None and serving == int(await r.get(serving_key) or 0):
                    await self.turns._skip(
                        keys=[serving_key, holder_key, wake], args=[serving, LEASE_MS]
                    )
            await r.set(holder_key, self.turns.owner, px=LEASE_MS)
        except RedisError as e:
            raise Unavailable(
                "conversation ordering is unavailable: Redis cannot be reached; retry shortly",
                {"service": "redis", "error": type(e).__name__},
            ) from None
        self._refresh = asyncio.create_task(self._keep_lease(holder_key))

    async def _keep_lease(self, holder_key: str) -> None:
        with contextlib.suppress(RedisError):
            while True:
                await asyncio.sleep(LEASE_MS / 3000)
                await self.turns.redis.set(holder_key, self.turns.owner, px=LEASE_MS)

    async def __aexit__(self, *exc: Any) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
        _, serving_key, holder_key, wake = self.turns._keys(self.session_id)
        with contextlib.suppress(RedisError):
            await self.turns._release(keys=[serving_key, holder_key, wake], args=[self.ticket, LEASE_MS])
