"""The group-commit writer, on both engines: what is acknowledged is durable, in order,
and one bad write costs only itself."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from engine.clock import as_utc, utcnow
from engine.store.tables import executions, session_turns
from engine.store.writer import Storage
from tests.support.processes import child_pids


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


async def texts_after_reopening(storage_url: str, session_id: str) -> list[str]:
    """What a new process finds: the database opened afresh."""
    again = Storage(storage_url)
    await again.open()
    try:
        return await texts(again, session_id)
    finally:
        await again.close()


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
    assert await texts_after_reopening(storage_url, "s") == [f"q{n}" for n in range(50)]


async def test_a_burst_bigger_than_one_statement_lands_in_full_and_in_order(storage: Storage) -> None:
    """SQLite inserts a batch as multi-row statements of bounded size: 600 rows queued at
    once span two batches and several statements each."""
    await asyncio.gather(*(storage.queue_insert(session_turns, [turn("burst", n)]) for n in range(600)))
    assert await texts(storage, "burst") == [f"q{n}" for n in range(600)]


async def test_an_execution_record_reads_back_exactly_as_it_was_written(storage: Storage) -> None:
    """Every kind of value an execution record holds survives the write path unchanged."""
    started = datetime(2026, 11, 27, 13, 5, 9, 123456, tzinfo=UTC)
    row = {
        "id": "exec_roundtrip",
        "workflow_id": "wf_1",
        "owner": "key-ü",
        "session_id": None,
        "status": "failed",
        "inputs": {"user_input": 'héllo "quoted" 🙂', "n": 3, "flag": True, "none": None},
        "outputs": {"start_node": {"user_input": "héllo"}, "nested": {"list": [1, 2.5, "x"]}},
        "result": None,
        "error": {"code": "execution_failed", "message": "boom", "details": {"node": "r"}},
        "start_time": started,
        "end_time": started.replace(microsecond=0),
        "nodes": {"r": {"type": "response", "status": "failed", "attempts": 3, "duration_ms": 1.5}},
    }
    await storage.queue_insert(executions, [row])
    back = await storage.fetch_one(sa.select(executions).where(executions.c.id == "exec_roundtrip"))
    assert back is not None
    got = back._asdict()
    assert {k: v for k, v in got.items() if not k.endswith("_time")} == {
        k: v for k, v in row.items() if not k.endswith("_time")
    }
    assert as_utc(got["start_time"]) == row["start_time"]
    assert as_utc(got["end_time"]) == row["end_time"]


async def test_closing_lands_every_queued_write_even_one_nobody_waits_for(storage_url: str) -> None:
    s = Storage(storage_url)
    await s.open()
    kept = [s.queue_insert(session_turns, [turn("closing", n)]) for n in range(50)]
    abandoned = s.queue_insert(session_turns, [turn("closing", 50)])
    abandoned.cancel()  # its caller was cancelled; the write is already queued
    s.queue_write(lambda conn: None)  # housekeeping nobody waits for
    await s.close()
    assert all(f.done() for f in kept)
    assert await texts_after_reopening(storage_url, "closing") == [f"q{n}" for n in range(51)]


def insert_processes() -> list[int]:
    """This test process's children that are SQLite insert processes (alive, not reaped zombies)."""
    return [pid for pid in child_pids() if b"engine/store/sqlite/process.py" in _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


async def test_a_killed_sqlite_insert_process_loses_nothing_and_another_takes_over(tmp_path: Path) -> None:
    """SQLite commits its plain inserts in a process of its own; the OOM killer may take it."""
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    s = Storage(url)
    await s.open()
    try:
        await s.queue_insert(session_turns, [turn("k", 0)])
        [first] = insert_processes()
        os.kill(first, signal.SIGKILL)
        while first in insert_processes():
            await asyncio.sleep(0.01)
        # The batch that finds it gone still lands (the ordinary way); the next has a new one.
        await asyncio.gather(*(s.queue_insert(session_turns, [turn("k", n)]) for n in range(1, 20)))
        await s.queue_insert(session_turns, [turn("k", 20)])
        [second] = insert_processes()
        assert second != first
    finally:
        await s.close()
    assert insert_processes() == []  # closing ends it
    assert await texts_after_reopening(url, "k") == [f"q{n}" for n in range(21)]
