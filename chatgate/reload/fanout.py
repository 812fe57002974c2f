"""Reload fan-out: a reload in one chatgate process reaches every process sharing its Redis.

Whatever triggered it (a file change, SIGHUP, ``POST /api/v1/admin/reload``, an
admin's /reload), the process that reloaded publishes one message on a Redis
channel naming itself and the trigger. Every other process then reloads too,
reading and validating *its own* config file: no settings (and so no secrets)
ever travel through Redis, and a process whose file does not validate keeps its
running config and reports the error, as on any reload. Reloads caused by a
peer are not announced again, so nothing echoes.

Pub/sub delivers only to processes listening at that moment. A process that lost
its subscription (Redis restarted, network) reloads once when it is back, so it
catches up with whatever it missed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from redis.exceptions import RedisError

from engine.cluster import keys
from engine.cluster.link import SharedState

log = logging.getLogger("chatgate.config")

CHANNEL = keys.RELOAD
PEER_TRIGGER = "peer"  # the trigger of a reload another process asked for starts with this
RESUBSCRIBE_S = 1.0


class ReloadFanout:
    def __init__(self, shared: SharedState, reload: Callable[[str], Coroutine[Any, Any, Any]]) -> None:
        self.shared = shared
        self.reload = reload
        self.listening = False
        self.received = 0  # reload requests from other processes since start
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._reloads: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Listen; returns once subscribed (or after a moment if Redis is away: it keeps trying)."""
        self._task = asyncio.create_task(self._listen(), name="reload-fanout")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await self._ready.wait()

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._reloads) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.listening = False

    @staticmethod
    def caused_by_peer(trigger: str) -> bool:
        return trigger.startswith(PEER_TRIGGER)

    async def announce(self, trigger: str) -> int | None:
        """Ask the other processes to reload; returns how many heard it (None: Redis unreachable)."""
        message = orjson.dumps({"from": self.shared.owner, "trigger": trigger})
        try:
            heard = int(await self.shared.redis.publish(CHANNEL, message))
        except RedisError as e:
            self.shared.failed(e)
            log.warning(
                "config: could not tell the other chatgate processes to reload (Redis unreachable); "
                "each reloads when Redis is back, or reload them one by one"
            )
            return None
        others = max(0, heard - (1 if self.listening else 0))  # we hear our own message too
        log.info("config: asked %d other chatgate process(es) to reload", others)
        return others

    async def _listen(self) -> None:
        subscribed_before = False
        while True:
            pubsub = self.shared.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                self.listening = True
                self._ready.set()
                if subscribed_before:
                    # Reloads announced while we were away were missed: catch up once.
                    log.info("config: reload fan-out listening again; reloading to catch up")
                    self._spawn(f"{PEER_TRIGGER} (fan-out reconnected)")
                subscribed_before = True
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._on_message(message.get("data"))
            except (RedisError, OSError) as e:
                if self.listening:
                    log.warning(
                        "config: reload fan-out lost its Redis connection (%s); retrying", type(e).__name__
                    )
                self.shared.failed(e)
                self.listening = False
                self._ready.set()  # start() need not wait for an outage to end
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # (typed in newer redis-py)
            await asyncio.sleep(RESUBSCRIBE_S)

    def _on_message(self, data: Any) -> None:
        try:
            body = orjson.loads(data)
            sender, trigger = str(body["from"]), str(body["trigger"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("config: ignoring a malformed message on %s", CHANNEL)
            return
        if sender == self.shared.owner:
            return
        self.received += 1
        log.info("config: process %s reloaded (%s); reloading here too", sender, trigger)
        self._spawn(f"{PEER_TRIGGER} {sender} ({trigger})")

    def _spawn(self, trigger: str) -> None:
        task: asyncio.Task[Any] = asyncio.create_task(self.reload(trigger))
        self._reloads.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._reloads.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("config: a reload asked for by another process failed", exc_info=task.exception())

    def health(self) -> dict[str, Any]:
        return {"listening": self.listening, "received": self.received}
