"""Waiting executions: their rows in ``waiting_executions``, claimed once by a resume."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.clock import as_utc
from engine.store.tables import executions, waiting_executions
from engine.store.writer import Storage, TableRows


@dataclass(slots=True)
class Waiting:
    execution_id: str
    workflow_id: str
    version: str
    owner: str
    session_id: str | None
    node_id: str
    question: dict[str, Any]
    attempts: int
    state: dict[str, Any]
    expires_at: datetime
    created_at: datetime

    def row(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "workflow_id": self.workflow_id,
            "version": self.version,
            "owner": self.owner,
            "session_id": self.session_id,
            "node_id": self.node_id,
            "question": self.question,
            "attempts": self.attempts,
            "state": self.state,
            "expires_at": self.expires_at,
            "created_at": self.created_at,
        }


def _loaded(r: sa.Row[Any]) -> Waiting:
    return Waiting(
        execution_id=r.execution_id,
        workflow_id=r.workflow_id,
        version=r.version,
        owner=r.owner,
        session_id=r.session_id,
        node_id=r.node_id,
        question=r.question,
        attempts=r.attempts,
        state=r.state,
        expires_at=as_utc(r.expires_at),
        created_at=as_utc(r.created_at),
    )


class WaitingExecutions:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def save(
        self, record_row: dict[str, Any], waiting: Waiting | None, others: TableRows
    ) -> asyncio.Future[None]:
        """The execution's record (replacing any earlier row of it), its waiting row when it
        waits, and ``others`` (its session turn...), in one commit."""
        execution_id = record_row["id"]

        def write(conn: sa.Connection) -> None:
            conn.execute(sa.delete(executions).where(executions.c.id == execution_id))
            conn.execute(executions.insert(), [record_row])
            if waiting is not None:
                conn.execute(
                    sa.delete(waiting_executions).where(waiting_executions.c.execution_id == execution_id)
                )
                conn.execute(waiting_executions.insert(), [waiting.row()])
            for table, rows in others:
                if rows:
                    conn.execute(table.insert(), rows)

        return self.storage.write(write)

    async def get(self, execution_id: str) -> Waiting | None:
        r = await self.storage.fetch_one(
            sa.select(waiting_executions).where(waiting_executions.c.execution_id == execution_id)
        )
        return None if r is None else _loaded(r)

    async def of_session(self, session_id: str) -> Waiting | None:
        r = await self.storage.fetch_one(
            sa.select(waiting_executions).where(waiting_executions.c.session_id == session_id).limit(1)
        )
        return None if r is None else _loaded(r)

    async def expired(self, now: datetime, limit: int) -> list[str]:
        rows = await self.storage.fetch_all(
            sa.select(waiting_executions.c.execution_id)
            .where(waiting_executions.c.expires_at <= now)
            .order_by(waiting_executions.c.expires_at)
            .limit(limit)
        )
        return [r.execution_id for r in rows]

    async def claim(self, waiting: Waiting) -> bool:
        """Take the waiting row for one resume: True for exactly one caller, however many
        processes try (the row is deleted only if it is still the one read)."""
        claimed = False

        def write(conn: sa.Connection) -> None:
            nonlocal claimed
            t = waiting_executions.c
            done = conn.execute(
                sa.delete(waiting_executions).where(
                    t.execution_id == waiting.execution_id, t.attempts == waiting.attempts
                )
            )
            claimed = done.rowcount == 1

        await self.storage.write(write)
        return claimed
