"""Conversation sessions: bounded, persisted history and one-at-a-time execution.

History lives in the database (it survives restarts) with a bounded in-memory
cache of recent sessions in front, so a busy conversation is not re-read on
every message. Session variables (what ``variable`` nodes with ``scope: session``
set) are kept the same way: rows in the database, the newest per name counts, a
bounded cache in front. Executions of one session queue on a FIFO lock: a burst of
messages is answered in arrival order against a consistent history.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from engine.cluster.ordering import HeldAlready, RedisOrdering, Turn
from engine.store.files import FileRows
from engine.store.history import History
from engine.store.variables import Variables
from engine.store.writer import Storage, TableRows
from engine.workflow.nodes.base import Message

# One earlier message, exactly as chat models take it: {"role": "user"|"assistant", "content": ...}.
# Treated as read-only: the same dicts are shared by every execution of the session.


# Sessions whose rows written since their last trim are counted: a count dropped only delays
# that session's trim. Not the cache size, which is 0 when other processes write.
_COUNTED_SESSIONS = 10_000


class _Trims:
    """When a kind of row (turns, variable values) is trimmed: rows are counted per session
    as written; sessions that wrote ``after`` since their last trim are due, and the due ones
    share one queued delete at most every ``every_s`` (``queue`` is given the function
    that hands them over when the delete runs, so sessions due by then join it)."""

    def __init__(self, after: int, every_s: float, queue: Callable[[Callable[[], set[str]]], None]) -> None:
        self.after = after
        self.every_s = every_s
        self.queue = queue
        self._written: dict[str, int] = {}  # rows per session since its last trim
        self._due: set[str] = set()
        self._queued = False
        self._next_at = 0.0

    def wrote(self, session_id: str, rows: int) -> None:
        written = self._written.pop(session_id, 0) + rows
        if written < self.after:
            self._written[session_id] = written
            if len(self._written) > _COUNTED_SESSIONS:
                self._written.pop(next(iter(self._written)))
            return
        self._due.add(session_id)
        now = time.monotonic()
        if not self._queued and now >= self._next_at:
            self._queued, self._next_at = True, now + self.every_s
            self.queue(self._take)

    def forget(self, session_id: str) -> None:
        self._written.pop(session_id, None)

    def _take(self) -> set[str]:
        due, self._due, self._queued = self._due, set(), False
        return due


class _Slot:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()  # asyncio.Lock wakes waiters in FIFO order
        self.users = 0


class _Hold:
    """The session lock as a plain class: cheaper than an async-generator context
    manager on the per-message path."""

    __slots__ = ("session_id", "slot", "slots")

    def __init__(self, slots: dict[str, _Slot], session_id: str) -> None:
        self.slots = slots
        self.session_id = session_id
        slot = slots.get(session_id)
        if slot is None:
            slot = slots[session_id] = _Slot()
        slot.users += 1
        self.slot = slot

    async def __aenter__(self) -> None:
        try:
            await self.slot.lock.acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self.slot.lock.release()
        self._leave()

    def _leave(self) -> None:
        self.slot.users -= 1
        if self.slot.users == 0:
            del self.slots[self.session_id]


class Sessions:
    def __init__(
        self,
        storage: Storage,
        *,
        max_turns: int,
        cache_size: int = 10_000,
        turns: RedisOrdering | None = None,
        trim_every_s: float = 1.0,
        variables_cache_bytes: int = 64 * 1024 * 1024,
        variables_trim_after: int = 32,
    ) -> None:
        self.storage = storage
        self.rows = History(storage)
        self.variable_rows = Variables(storage)
        self.file_rows = FileRows(storage)  # a session's files go with it
        # With other processes writing the same sessions (Redis turns), a local cache would
        # go stale: history is then always read from the database, after taking the turn.
        self.turns = turns
        if turns is not None:
            cache_size = variables_cache_bytes = 0
        self.max_turns = max_turns  # a turn is one user message plus one answer
        self.cache_size = cache_size
        # Cached as the message dicts the model is sent, so a turn is not rebuilt per request.
        self._cache: OrderedDict[str, tuple[Message, ...]] = OrderedDict()
        self._slots: dict[str, _Slot] = {}
        # Rows past the window are never read (history() loads with a LIMIT), so they are
        # deleted in bulk: sessions that wrote a whole window more share one delete at most
        # every ``trim_every_s``. A batch holding a delete cannot take the plain-insert path
        # (`engine/store/sqlite/inserts.py`), and deleting as soon as any session was due put
        # one in most batches once sessions were many (measured slower, BENCHMARKS.md).
        self._turn_trims = _Trims(
            max_turns + 1, trim_every_s, lambda take: self.rows.queue_trim(lambda: (take(), self.max_turns))
        )
        # Each session's variables as stored, with their size as JSON: bounded by bytes, not
        # by sessions, since one session may hold MAX_SESSION_VARIABLES values of
        # MAX_VALUE_BYTES. Sessions with none are cached too (most have none): no read per message.
        self.variables_cache_bytes = variables_cache_bytes
        self._variables: OrderedDict[str, tuple[dict[str, Any], int]] = OrderedDict()
        self._variables_bytes = 0
        # Setting a variable appends a row; the superseded ones are deleted in bulk, like
        # old turns, once a session wrote ``variables_trim_after`` since its last trim.
        self._variable_trims = _Trims(variables_trim_after, trim_every_s, self.variable_rows.queue_trim)

    def exclusive(self, session_id: str) -> _Hold | Turn | HeldAlready:
        """``async with``: hold the session for one execution; others of it wait in order.
        With several processes, a caller that took its place in line on arrival
        (`RedisOrdering.arrive`) and holds that turn is not made to wait again."""
        if self.turns is not None:
            return self.turns.hold(session_id)
        return _Hold(self._slots, session_id)

    async def history(self, session_id: str) -> tuple[Message, ...]:
        cached = self._cache.get(session_id)
        if cached is not None:
            self._cache.move_to_end(session_id)
            return cached
        exchanges = await self.rows.recent(session_id, self.max_turns) if self.max_turns else []
        turns = tuple(
            message
            for user, answer in exchanges
            for message in (
                {"role": "user", "content": user},
                {"role": "assistant", "content": answer},
            )
        )
        self._remember(session_id, turns)
        return turns

    def append(self, session_id: str, user: str, assistant: str) -> TableRows:
        """One exchange: remembered now, and returned as the rows the caller commits (with
        its own, in one go). Old turns are trimmed now and then, not on every message."""
        if self.max_turns == 0:
            return []
        keep = self.max_turns
        before = self._cache.get(session_id)
        if before is not None:
            user_msg = {"role": "user", "content": user}
            answer_msg = {"role": "assistant", "content": assistant}
            self._remember(session_id, (*before, user_msg, answer_msg)[-2 * keep :])
        self._turn_trims.wrote(session_id, 1)
        return self.rows.turn(session_id, user, assistant)

    async def variables(self, session_id: str) -> Mapping[str, Any]:
        """What ``variable`` nodes with ``scope: session`` set for the session, by name.
        Read-only: the caller copies it before changing anything."""
        cached = self._variables.get(session_id)
        if cached is not None:
            self._variables.move_to_end(session_id)
            return cached[0]
        values = await self.variable_rows.current(session_id)
        self._remember_variables(session_id, values)
        return values

    def set_variables(self, session_id: str, values: dict[str, Any]) -> TableRows:
        """The values as rows the caller commits with the execution's record; once that
        commit is done, `variables_saved` caches what the session then holds."""
        # Until the commit is known done the cache may not hold either state: a failed or
        # cancelled save would leave it ahead of, or behind, the database.
        self._forget_variables(session_id)
        self._variable_trims.wrote(session_id, len(values))
        return self.variable_rows.changes(session_id, values)

    def variables_saved(self, session_id: str, values: Mapping[str, Any]) -> None:
        """The commit holding `set_variables`' rows is done: ``values`` (all the session's
        variables now) can be served from memory."""
        self._remember_variables(session_id, dict(values))

    def _remember_variables(self, session_id: str, values: dict[str, Any]) -> None:
        if self.variables_cache_bytes <= 0:
            return
        self._forget_variables(session_id)
        size = len(orjson.dumps(values)) + len(session_id)
        if size > self.variables_cache_bytes:
            return
        self._variables[session_id] = (values, size)
        self._variables_bytes += size
        while self._variables_bytes > self.variables_cache_bytes:
            _, (_, dropped) = self._variables.popitem(last=False)
            self._variables_bytes -= dropped

    def _forget_variables(self, session_id: str) -> None:
        held = self._variables.pop(session_id, None)
        if held is not None:
            self._variables_bytes -= held[1]

    async def reset(self, session_id: str) -> int:
        """Forget a session's history, variables and files; returns how many messages (user
        and assistant) were removed."""
        async with self.exclusive(session_id):
            exchanges = await self.rows.forget(session_id)
            await self.variable_rows.forget(session_id)
            await self.file_rows.forget_session(session_id)
            self._cache.pop(session_id, None)
            self._forget_variables(session_id)
            self._turn_trims.forget(session_id)
            self._variable_trims.forget(session_id)
        return 2 * exchanges

    def _remember(self, session_id: str, turns: tuple[Message, ...]) -> None:
        self._cache[session_id] = turns
        self._cache.move_to_end(session_id)
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
