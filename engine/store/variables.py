"""Session variables: rows in ``session_variables``, the newest per name counts."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.store.tables import session_variables
from engine.store.writer import Storage, TableRows


class Variables:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def current(self, session_id: str) -> dict[str, Any]:
        """Each variable's newest value for the session."""
        t = session_variables
        newest = sa.select(sa.func.max(t.c.id)).where(t.c.session_id == session_id).group_by(t.c.name)
        rows = await self.storage.fetch_all(sa.select(t.c.name, t.c.value).where(t.c.id.in_(newest)))
        return {r.name: r.value["v"] for r in rows}

    @staticmethod
    def changes(session_id: str, values: dict[str, Any]) -> TableRows:
        """The values as rows to insert: the caller commits them with its own, in one go.
        Each is stored wrapped, ``{"v": value}``: SQLite gives a column of type JSON numeric
        affinity, so a bare number's text would come back as a number, which no JSON
        reader takes."""
        now = utcnow()
        rows = [
            {"session_id": session_id, "name": k, "value": {"v": v}, "created_at": now}
            for k, v in values.items()
        ]
        return [(session_variables, rows)]

    def queue_trim(self, due: Callable[[], Collection[str]]) -> None:
        """Queue one delete, not waited for, of the rows a newer one of the same name
        superseded, in the sessions ``due()`` names when the delete runs (so sessions due
        by then join it)."""

        def write(conn: sa.Connection) -> None:
            sessions = due()
            if not sessions:
                return
            t = session_variables
            newest = (
                sa.select(sa.func.max(t.c.id))
                .where(t.c.session_id.in_(sessions))
                .group_by(t.c.session_id, t.c.name)
            )
            conn.execute(t.delete().where(t.c.session_id.in_(sessions), t.c.id.not_in(newest)))

        self.storage.queue_write(write)

    async def forget(self, session_id: str) -> int:
        """Delete the session's variables; how many rows there were."""
        removed = 0

        def write(conn: sa.Connection) -> None:
            nonlocal removed
            result = conn.execute(
                session_variables.delete().where(session_variables.c.session_id == session_id)
            )
            removed = result.rowcount or 0

        await self.storage.write(write)
        return removed
