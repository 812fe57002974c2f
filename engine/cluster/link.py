"""This process's link to the Redis that several chatgate processes share.

One client (a small connection pool) for the claims on incoming updates, the
leases on work only one process may do and the reload fan-out; a name for this
process; and its heartbeat, a key that exists only while the process is alive.
Other processes take over what a process held (claimed updates, leases) once
its heartbeat is gone, so a crash delays that work by seconds, never forever.

Calls fail fast (short timeouts) rather than hang on a Redis that is away: each
user decides what an outage means for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from engine.cluster import keys

log = logging.getLogger("chatgate.shared")

ALIVE_PREFIX = keys.ALIVE
# A process silent for this long is taken for dead. Shorter than a lease (bots.delivery.leases):
# whoever takes a lease over from a dead process finds its claims free already.
ALIVE_TTL_MS = 4_000
BEAT_EVERY_S = ALIVE_TTL_MS / 3000
REDIS_TIMEOUT_S = 2.0
MAX_CONNECTIONS = 32  # claims and leases are short commands; pub/sub takes one more of its own


def bounded_pool(
    redis_url: str, *, size: int, wait_s: float = REDIS_TIMEOUT_S, socket_s: float = REDIS_TIMEOUT_S
) -> aioredis.BlockingConnectionPool:
    """A connection pool on which a burst waits for a connection (redis-py's default pool
    fails with "Too many connections" past its cap), failing fast while Redis is away,
    and retrying a command once on a fresh connection: after a Redis restart the pooled
    connections are dead, and the first command on each must not fail for it."""
    return aioredis.BlockingConnectionPool.from_url(
        redis_url,
        max_connections=size,
        timeout=wait_s,
        socket_timeout=socket_s,
        socket_connect_timeout=min(socket_s, 1.0),
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


def process_name() -> str:
    """host:pid:random, unique among processes, readable in logs and /healthz."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class SharedState:
    def __init__(self, redis_url: str) -> None:
        # (closing the client closes the pool)
        self.redis = aioredis.Redis.from_pool(bounded_pool(redis_url, size=MAX_CONNECTIONS))
        self.owner = process_name()
        self.alive_key = ALIVE_PREFIX + self.owner
        self.reachable: bool | None = None  # None: not tried yet
        self.last_error: str | None = None
        self._last_beat: float | None = None
        self._beat: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.beat()  # alive before anything is claimed; an outage is logged, not fatal
        self._beat = asyncio.create_task(self._beat_loop(), name="shared-heartbeat")

    async def close(self) -> None:
        """Graceful stop: gone at once, so others take over what is left without waiting."""
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
        with contextlib.suppress(RedisError):
            await self.redis.delete(self.alive_key)
        await self.redis.aclose()

    async def beat(self) -> None:
        try:
            await self.redis.set(self.alive_key, str(int(time.time())), px=ALIVE_TTL_MS)
        except RedisError as e:
            self.failed(e)
        else:
            self.succeeded()
            self._last_beat = time.time()

    async def _beat_loop(self) -> None:
        while True:
            await asyncio.sleep(BEAT_EVERY_S)
            await self.beat()

    def failed(self, error: BaseException) -> None:
        """Any user of the client reports an outage here: logged once per outage."""
        self.last_error = f"{type(error).__name__}: {error}"[:200]
        if self.reachable is not False:
            log.warning(
                "Redis unreachable (%s): shared limits, ordering and claims fail fast until it returns",
                type(error).__name__,
            )
        self.reachable = False

    def succeeded(self) -> None:
        if self.reachable is False:
            log.info("Redis reachable again")
        self.reachable = True

    def health(self) -> dict[str, Any]:
        return {
            "process": self.owner,
            "redis": {None: "unknown", True: "ok", False: "unreachable"}[self.reachable],
            "last_error": self.last_error if self.reachable is False else None,
        }
