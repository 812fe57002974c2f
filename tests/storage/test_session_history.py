"""Session history in the database stays bounded, and trimming it stays off the hot path,
on both engines."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from engine.cluster.ordering import RedisOrdering
from engine.sessions import Sessions
from engine.store.tables import session_turns
from engine.store.writer import Storage


def count_deletes(storage: Storage) -> list[str]:
    """Every DELETE the database is sent from now on."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            seen.append(statement)

    assert storage.engine is not None
    sa.event.listen(storage.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def say(sessions: Sessions, session_id: str, n: int) -> None:
    """One exchange, committed as the executor commits it."""
    await sessions.storage.queue_inserts(sessions.append(session_id, f"q{n}", f"a{n}"))


async def rows_of(storage: Storage, session_id: str) -> int:
    query = sa.select(sa.func.count()).select_from(session_turns)
    return int(await storage.scalar(query.where(session_turns.c.session_id == session_id)))


async def test_a_chatty_session_keeps_only_about_its_window_in_the_database(storage: Storage) -> None:
    sessions = Sessions(storage, max_turns=3, trim_every_s=0)
    for n in range(40):
        await say(sessions, "chatty", n)
    # Trimmed in bulk, a window at a time: never more than two windows and the newest turn.
    assert await rows_of(storage, "chatty") <= 2 * 3 + 1
    fresh = Sessions(storage, max_turns=3)  # a restarted process reads the database
    history = await fresh.history("chatty")
    assert [m["content"] for m in history if m["role"] == "user"] == ["q37", "q38", "q39"]


async def test_sessions_due_for_trimming_wait_and_then_share_one_delete(storage: Storage) -> None:
    deletes = count_deletes(storage)
    sessions = Sessions(storage, max_turns=1, trim_every_s=2.0)
    for user in range(10):
        for n in range(3):  # past the one-turn window: due for trimming
            await say(sessions, f"user-{user}", n)
    # Only the first to come due was trimmed at once; the others wait for the next round
    # instead of putting a delete into almost every commit.
    assert len(deletes) == 1
    assert await rows_of(storage, "user-9") == 3
    await asyncio.sleep(2.0)
    for n in range(3, 5):
        await say(sessions, "user-0", n)  # due again: the next round trims everyone waiting
    assert len(deletes) == 2
    assert [await rows_of(storage, f"user-{user}") for user in range(1, 10)] == [1] * 9


async def test_with_several_processes_history_is_still_trimmed(storage: Storage, redis_url: str) -> None:
    # Redis turns turn the history cache off (other processes write); the count of rows
    # written since the last trim must not go with it.
    turns = RedisOrdering(redis_url, "p1")
    try:
        sessions = Sessions(storage, max_turns=3, trim_every_s=0, turns=turns)
        for n in range(40):
            await say(sessions, "chatty", n)
        assert await rows_of(storage, "chatty") <= 2 * 3 + 1
    finally:
        await turns.redis.aclose()
