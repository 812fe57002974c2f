"""The group-commit writer, on both engines: what is acknowledged is durable, in order,
and one bad write costs only itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from engine.clock import utcnow
from engine.storage import Storage, session_turns


@pytest.fixture
async def storage(storage_url: str) -> AsyncIterator[Storage]:
    s = Storage(storage_url)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


def turn(session_id: str, n: int, **override: object) -> dict[str, object]:
    return {
        "session_id": session_id,
        "user_text": f"q{n}",
        "answer_text": f"a{n}",
        "created_at": utcnow(),
    } | override


async def texts(storage: Storage, session_id: str) -> list[str]:
    rows = await storage.fetch_all(
        sa.select(session_turns.c.user_text)
        .where(session_turns.c.session_id == session_id)
        .order_by(session_turns.c.id)
    )
    return [r.user_text for r in rows]


async def test_a_bad_write_in_a_batch_fails_alone_and_its_neighbours_are_committed(storage: Storage) -> None:
    # Queued together, so they share one transaction until the bad one spoils it.
    futures = [storage.queue_insert(session_turns, [turn("s", n)]) for n in range(3)]
    futures.insert(2, storage.queue_insert(session_turns, [turn("s", 99, user_text=None)]))  # NOT NULL
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert [isinstance(r, sa.exc.IntegrityError) for r in results] == [False, False, True, False]
    assert await texts(storage, "s") == ["q0", "q1", "q2"]


async def test_custom_writes_and_inserts_apply_in_the_order_they_were_queued(storage: Storage) -> None:
    def rename_all(conn: sa.Connection) -> None:
        conn.execute(session_turns.update().where(session_turns.c.session_id == "s").values(user_text="old"))

    first = storage.queue_insert(session_turns, [turn("s", 1), turn("s", 2)])
    renamed = storage.write(rename_all)  # after the two rows above, before the one below
    last = storage.queue_insert(session_turns, [turn("s", 3)])
    await asyncio.gather(first, renamed, last)
    assert await texts(storage, "s") == ["old", "old", "q3"]


async def test_what_was_acknowledged_is_there_after_reopening(storage_url: str) -> None:
    s = Storage(storage_url)
    await s.open()
    await asyncio.gather(*(s.queue_insert(session_turns, [turn("s", n)]) for n in range(50)))
    await s.close()
    again = Storage(storage_url)
    await again.open()
    try:
        assert await texts(again, "s") == [f"q{n}" for n in range(50)]
    finally:
        await again.close()

