"""Whose turn it is in a session, across every chatgate process sharing one Redis.

A ticket lock on Redis primitives. A message takes a ticket when it arrives (INCR, so
tickets follow arrival order whichever process received it) and is handled once the
session's ``serving`` counter reaches the ticket before it; being done with a ticket
advances the counter and wakes the next ticket's waiter through a list it blocks on
(BLPOP). Taking a ticket and waiting for its turn may be apart: a caller that queues
its work before running it takes the ticket on arrival (`RedisOrdering.arrive`) and
holds the turn later; one that runs at once does both together (`RedisOrdering.hold`).

Each ticket is recorded with the process that took it, so a ticket is never passed by
for taking long (it may wait in its process's queue for minutes), only once it is let
go or its process is dead: the tickets of a process whose heartbeat (`engine.cluster.link`)
is gone are served at once by whoever looks, so a crash delays a session by seconds,
never forever. A ticket that could not be let go (Redis away, a cancelled wait) is let
go by a background task once Redis answers: its process is alive, so nobody else would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from contextvars import ContextVar, Token
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from engine.cluster import keys
from engine.cluster.link import ALIVE_PREFIX, bounded_pool
from engine.errors import Unavailable

log = logging.getLogger("chatgate.ordering")

WAKE_POLL_S = 1.0  # how often a waiter re-checks even without a wake-up
WAKE_TTL_MS = 10_000  # a wake-up nobody picked up (its waiter looks at the counter first anyway)
LET_GO_RETRY_S = 1.0
IDLE_EXPIRY_S = 86_400
POOL_SIZE = 512

# KEYS: next, serving, owners (ticket -> "<process> <n>"); ARGV: the ticket's mark, idle TTL (s).
# Returns {ticket, serving}.
_TAKE = """
local ticket = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[3], ticket, ARGV[1])
redis.call('SET', KEYS[2], 0, 'NX')
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[2]) end
return {ticket, tonumber(redis.call('GET', KEYS[2]))}
"""

# Optionally let a ticket go (ARGV[5] == '1'; its number unknown, '0', when taking it was cut
# short), then serve the tickets right behind ``serving`` that nobody will use (let go, or
# taken by a process whose heartbeat is gone) and wake the first live one.
# KEYS: serving, owners, next, wake prefix; ARGV: heartbeat prefix, wake TTL (ms), mark, ticket,
# let go. Returns {serving, 1 if the mark still holds the ticket}.
_HAND_ON = """
local owners, ticket = KEYS[2], ARGV[4]
if ARGV[5] == '1' then
  if ticket == '0' then
    local all = redis.call('HGETALL', owners)
    for i = 1, #all, 2 do
      if all[i + 1] == ARGV[3] then ticket = all[i] end
    end
  end
  if redis.call('HGET', owners, ticket) == ARGV[3] then redis.call('HDEL', owners, ticket) end
end
local serving = tonumber(redis.call('GET', KEYS[1]) or '0')
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
local passed = 0
while serving + passed < last do
  local next_ticket = serving + passed + 1
  local mark = redis.call('HGET', owners, next_ticket)
  if mark and redis.call('EXISTS', ARGV[1] .. string.match(mark, '^%S+')) == 1 then break end
  redis.call('HDEL', owners, next_ticket)
  passed = passed + 1
end
if passed > 0 then
  serving = redis.call('INCRBY', KEYS[1], passed)
  if serving < last then
    local wake = KEYS[4] .. (serving + 1)
    redis.call('RPUSH', wake, '1')
    redis.call('PEXPIRE', wake, ARGV[2])
  end
end
return {serving, redis.call('HGET', owners, ticket) == ARGV[3] and 1 or 0}
"""

# The session whose turn the current task holds: a turn is not waited for twice (the
# caller took it on arrival, and the code it runs asks for the session again).
_holding: ContextVar[str | None] = ContextVar("chatgate_turn_held", default=None)


class RedisOrdering:
    def __init__(self, redis_url: str, owner: str, *, prefix: str = keys.TURNS) -> None:
        # Its own bounded pool, on which a burst waits rather than fails: waiters hold a
        # connection in BLPOP, which must not starve the short commands of other parts.
        self.redis = aioredis.Redis.from_pool(bounded_pool(redis_url, size=POOL_SIZE, wait_s=10, socket_s=5))
        self.prefix = prefix
        self.owner = owner  # this process's name: its heartbeat vouches for its tickets
        self._marks = itertools.count(1)
        self._take = self.redis.register_script(_TAKE)
        self._pass = self.redis.register_script(_HAND_ON)
        self._unreleased: dict[tuple[str, str], int] = {}  # (session, mark) -> ticket, 0 if unknown
        self._releasing: asyncio.Task[None] | None = None

    def keys(self, session_id: str) -> tuple[str, str, str, str]:
        base = f"{self.prefix}:{session_id}"
        return f"{base}:next", f"{base}:serving", f"{base}:owners", f"{base}:wake:"

    def hold(self, session_id: str) -> Turn | HeldAlready:
        """``async with``: take a ticket, wait for its turn, hold it, pass it on. Inside a
        turn of this session the current task holds already: nothing to wait for."""
        if _holding.get() == session_id:
            return HELD_ALREADY
        return Turn(self, session_id)

    async def arrive(self, session_id: str) -> Turn:
        """Take the session's next ticket now; its turn is held later (``async with``). If
        Redis cannot be reached the turn is not waited for (what else the caller does with
        Redis then tells it that it is away)."""
        turn = Turn(self, session_id)
        with contextlib.suppress(Unavailable):
            await turn.take()
        return turn

    async def check(
        self, session_id: str, mark: str, ticket: int, *, let_go: bool = False
    ) -> tuple[int, bool]:
        """(serving, whether ``mark`` still holds ``ticket``), first letting the ticket go if
        asked to, and serving the tickets nobody will use."""
        next_key, serving_key, owners, wake = self.keys(session_id)
        serving, held = await self._pass(
            keys=[serving_key, owners, next_key, wake],
            args=[ALIVE_PREFIX, WAKE_TTL_MS, mark, ticket, int(let_go)],
        )
        return int(serving), bool(held)

    def let_go_later(self, turn: Turn) -> None:
        """Let a ticket go as soon as Redis answers: this process is alive, so nobody
        else would pass it by, and its session would wait for it."""
        self._unreleased[(turn.session_id, turn.mark)] = turn.ticket
        if self._releasing is None:
            self._releasing = asyncio.create_task(self._let_go_all(), name="turns-let-go")

    async def _let_go_all(self) -> None:
        try:
            while self._unreleased:
                await asyncio.sleep(LET_GO_RETRY_S)
                for (session_id, mark), ticket in list(self._unreleased.items()):
                    try:
                        await self.check(session_id, mark, ticket, let_go=True)
                    except RedisError:
                        break  # still away: next round
                    del self._unreleased[(session_id, mark)]
        finally:
            self._releasing = None

    async def aclose(self) -> None:
        # What is still unreleased is passed by the others once this process's heartbeat goes.
        if self._releasing is not None:
            self._releasing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._releasing
        await self.redis.aclose()


def _unavailable(e: RedisError) -> Unavailable:
    return Unavailable(
        "conversation ordering is unavailable: Redis cannot be reached; retry shortly",
        {"service": "redis", "error": type(e).__name__},
    )


class Turn:
    """A place in a session's line: ``take`` a ticket, ``async with`` to wait for its turn
    and hold it (taking the ticket then if not yet taken); leaving passes the turn on."""

    def __init__(self, turns: RedisOrdering, session_id: str) -> None:
        self.turns = turns
        self.session_id = session_id
        # Unique to this ticket, so a late release can never let go of someone else's.
        self.mark = f"{turns.owner} {next(turns._marks)}"
        self.ticket = 0  # 0: not taken (or not known)
        # Nothing (more) to wait for: its turn has come, or the ticket was lost or let go
        # because Redis could not be reached (then it is not waited for: the line is broken
        # anyway, and a new ticket could be queued behind one of this process's own).
        self.ready = False
        self._let_go = False
        self._held: Token[str | None] | None = None

    async def take(self) -> None:
        next_key, serving_key, owners, _ = self.turns.keys(self.session_id)
        try:
            ticket, serving = await self.turns._take(
                keys=[next_key, serving_key, owners], args=[self.mark, IDLE_EXPIRY_S]
            )
        except BaseException as e:
            self.drop()  # it may have been taken all the same
            if isinstance(e, RedisError):
                raise _unavailable(e) from None
            raise
        self.ticket = int(ticket)
        self.ready = int(serving) >= self.ticket - 1

    async def wait(self) -> None:
        """Until it is this ticket's turn. If Redis cannot be reached: Unavailable, and the
        ticket is let go."""
        wake = self.turns.keys(self.session_id)[3]
        try:
            while not self.ready:
                serving, held = await self.turns.check(self.session_id, self.mark, self.ticket)
                if not held:
                    # Redis forgot the ticket (it restarted empty) or took this process for
                    # dead (its heartbeat could not reach Redis).
                    log.warning(
                        "session %s: ticket %d was lost; not waiting for the turn",
                        self.session_id,
                        self.ticket,
                    )
                self.ready = not held or serving >= self.ticket - 1
                if not self.ready:
                    await self.turns.redis.blpop([f"{wake}{self.ticket}"], timeout=WAKE_POLL_S)
        except BaseException as e:
            self.drop()
            if isinstance(e, RedisError):
                raise _unavailable(e) from None
            raise

    async def release(self) -> None:
        """Done with the ticket, whether its turn came or not: the line moves on."""
        if self._let_go:
            return
        self._let_go = True
        try:
            await self.turns.check(self.session_id, self.mark, self.ticket, let_go=True)
        except BaseException as e:
            self.turns.let_go_later(self)
            if not isinstance(e, RedisError):
                raise

    def drop(self) -> None:
        """Let the ticket go without waiting (in the background, as soon as Redis answers)."""
        self.ready = True
        if not self._let_go:
            self._let_go = True
            self.turns.let_go_later(self)

    async def __aenter__(self) -> None:
        if not self.ready:
            if self.ticket == 0:
                await self.take()
            await self.wait()
        self._held = _holding.set(self.session_id)

    async def __aexit__(self, *exc: Any) -> None:
        if self._held is not None:
            _holding.reset(self._held)
        await self.release()


class HeldAlready:
    """The turn the current task holds already: nothing to take, wait for or release."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: Any) -> None:
        return None


HELD_ALREADY = HeldAlready()
