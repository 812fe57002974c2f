"""Session variables in the database: the newest per name counts, superseded rows are trimmed
in bulk, and the cache in front never serves what the database does not hold, on both engines."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.sessions import Sessions
from engine.store.tables import session_variables
from engine.store.writer import Storage


def count_statements(storage: Storage, verb: str) -> list[str]:
    """Every statement starting with ``verb`` the database is sent from now on."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(verb):
            seen.append(statement)

    assert storage.engine is not None
    sa.event.listen(storage.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def set_and_commit(sessions: Sessions, session_id: str, values: dict[str, Any]) -> None:
    """As the executor does it: read under the lock, commit the rows, then tell the cache."""
    async with sessions.exclusive(session_id):
        held = dict(await sessions.variables(session_id))
        await sessions.storage.queue_inserts(sessions.set_variables(session_id, values))
        sessions.variables_saved(session_id, {**held, **values})


async def rows_of(storage: Storage, session_id: str) -> int:
    query = sa.select(sa.func.count()).select_from(session_variables)
    return int(await storage.scalar(query.where(session_variables.c.session_id == session_id)))


async def test_the_newest_value_per_name_is_what_a_restarted_process_reads(storage: Storage) -> None:
    sessions = Sessions(storage, max_turns=3)
    await set_and_commit(sessions, "s1", {"name": "Ada", "plan": {"tier": "free"}})
    await set_and_commit(sessions, "s1", {"name": "Ada Lovelace", "gone": None})
    await set_and_commit(sessions, "s2", {"name": "Bo"})
    # Bare scalars too (SQLite would read a number's text back as a number, not as JSON).
    scalars = {"count": 22, "ratio": 1.5, "ok": True, "digits": "42", "list": [1, "2"]}
    await set_and_commit(sessions, "s3", scalars)
    fresh = Sessions(storage, max_turns=3)
    assert await fresh.variables("s3") == scalars
    assert await fresh.variables("s1") == {"name": "Ada Lovelace", "plan": {"tier": "free"}, "gone": None}
    assert await fresh.variables("s2") == {"name": "Bo"}
    assert await fresh.variables("nobody") == {}


async def test_superseded_rows_are_trimmed_in_bulk_keeping_the_newest(storage: Storage) -> None:
    deletes = count_statements(storage, "DELETE")
    sessions = Sessions(storage, max_turns=3, trim_every_s=0, variables_trim_after=5)
    for n in range(23):
        await set_and_commit(sessions, "counter", {"n": n, "fixed": "same"})
    await storage.write(lambda _conn: None)  # after any trim still queued
    # Every third commit (two rows each, due at five), not every one; what remains is the
    # newest row per name and at most the three commits since the last trim.
    assert len(deletes) == 23 // 3
    assert await rows_of(storage, "counter") <= 2 + 3 * 2
    assert await Sessions(storage, max_turns=3).variables("counter") == {"n": 22, "fixed": "same"}


async def test_a_session_read_once_is_served_from_memory_even_with_no_variables(storage: Storage) -> None:
    selects = count_statements(storage, "SELECT")
    sessions = Sessions(storage, max_turns=3)
    assert await sessions.variables("quiet") == {}
    await set_and_commit(sessions, "busy", {"name": "Cy"})
    before = len(selects)
    for _ in range(5):
        assert await sessions.variables("quiet") == {}
        assert await sessions.variables("busy") == {"name": "Cy"}
    assert len(selects) == before


async def test_an_uncommitted_change_is_never_served_from_memory(storage: Storage) -> None:
    sessions = Sessions(storage, max_turns=3)
    await set_and_commit(sessions, "s", {"name": "Ada"})
    # The save of this change failed (or was cancelled): the rows never reached the database.
    sessions.set_variables("s", {"name": "Mallory"})
    assert await sessions.variables("s") == {"name": "Ada"}


async def test_the_cache_is_bounded_by_bytes(storage: Storage) -> None:
    sessions = Sessions(storage, max_turns=3, variables_cache_bytes=4096)
    for n in range(20):
        await set_and_commit(sessions, f"s{n}", {"blob": "x" * 1000})
    selects = count_statements(storage, "SELECT")
    assert await sessions.variables("s19") == {"blob": "x" * 1000}  # the newest are kept
    assert not selects
    assert await sessions.variables("s0") == {"blob": "x" * 1000}  # the oldest went: read again
    assert len(selects) == 1


async def test_reset_forgets_the_variables_in_the_database_and_in_memory(storage: Storage) -> None:
    sessions = Sessions(storage, max_turns=3)
    await set_and_commit(sessions, "s", {"name": "Ada"})
    await set_and_commit(sessions, "other", {"name": "Bo"})
    assert await sessions.variables("s") == {"name": "Ada"}
    await sessions.reset("s")
    assert await sessions.variables("s") == {}
    assert await rows_of(storage, "s") == 0
    assert await Sessions(storage, max_turns=3).variables("other") == {"name": "Bo"}
