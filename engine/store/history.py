"""Session history: one row per exchange in ``session_turns``, trimmed in bulk."""

from __future__ import annotations

from collections.abc import Callable, Collection

import sqlalchemy as sa

from engine.clock import utcnow
from engine.store.tables import session_turns
from engine.store.writer import Storage, TableRows


class History:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def recent(self, session_id: str, limit: int) -> list[tuple[str, str]]:
        """The session's last ``limit`` exchanges (user text, answer), oldest first."""
        rows = await self.storage.fetch_all(
            sa.select(session_turns.c.user_text, session_turns.c.answer_text)
            .where(session_turns.c.session_id == session_id)
            .order_by(session_turns.c.id.desc())
            .limit(limit)
        )
        return [(r.user_text, r.answer_text) for r in reversed(rows)]

    @staticmethod
    def turn(session_id: str, user: str, answer: str) -> TableRows:
        """One exchange as rows to insert: the caller commits them with its own, in one go."""
        row = {"session_id": session_id, "user_text": user, "answer_text": answer, "created_at": utcnow()}
        return [(session_turns, [row])]

    def queue_trim(self, due: Callable[[], tuple[Collection[str], int]]) -> None:
        """Queue one delete, not waited for, of the turns past each session's newest ``keep``;
        ``due()`` says which sessions and ``keep`` when the delete runs, so sessions due by
        then join it."""

        def write(conn: sa.Connection) -> None:
            sessions, keep = due()
            ranked = (
                sa.select(
                    session_turns.c.id,
                    sa.func.row_number()
                    .over(partition_by=session_turns.c.session_id, order_by=session_turns.c.id.desc())
                    .label("age"),
                )
                .where(session_turns.c.session_id.in_(sessions))
                .subquery()
            )
            stale = sa.select(ranked.c.id).where(ranked.c.age > keep)
            conn.execute(session_turns.delete().where(session_turns.c.id.in_(stale)))

        self.storage.queue_write(write)

    async def forget(self, session_id: str) -> int:
        """Delete the session's history; how many exchanges it had."""
        removed = 0

        def write(conn: sa.Connection) -> None:
            nonlocal removed
            result = conn.execute(session_turns.delete().where(session_turns.c.session_id == session_id))
            removed = result.rowcount or 0

        await self.storage.write(write)
        return removed
