"""Waiting executions: their rows in ``waiting_executions``, claimed once by a resume.

A claim is a lease, not a deletion: the row goes in the same commit as the resumed run's
record, so a process that dies mid-resume leaves the execution waiting (its question still
asked), and once the lease runs out the next answer, or the timeout sweep, takes it up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.clock import as_utc, utcnow
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
    claimed_until: datetime | None = None  # a resume holds it until then

    def being_answered(self, now: datetime) -> bool:
        return self.claimed_until is not None and self.claimed_until > now

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
        claimed_until=None if r.claimed_until is None else as_utc(r.claimed_until),
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
            # Its claimed row (a resume ending here), or the one a new wait replaces.
            conn.execute(_one(execution_id))
            if waiting is not None:
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
        """The session's newest question still open (not being answered right now)."""
        t = waiting_executions.c
        r = await self.storage.fetch_one(
            sa.select(waiting_executions)
            .where(t.session_id == session_id, _unclaimed(utcnow()))
            .order_by(t.created_at.desc())
            .limit(1)
        )
        return None if r is None else _loaded(r)

    async def expired(self, now: datetime, limit: int) -> list[str]:
        t = waiting_executions.c
        rows = await self.storage.fetch_all(
            sa.select(t.execution_id)
            .where(t.expires_at <= now, _unclaimed(now))
            .order_by(t.expires_at)
            .limit(limit)
        )
        return [r.execution_id for r in rows]

    async def claim(self, waiting: Waiting, lease_s: float) -> bool:
        """Take the waiting row for one resume, for ``lease_s`` (longer than a run may take):
        True for exactly one caller, however many processes try (only the row as it was read,
        and only when no live claim holds it)."""
        claimed = False
        now = utcnow()

        def write(conn: sa.Connection) -> None:
            nonlocal claimed
            t = waiting_executions.c
            done = conn.execute(
                sa.update(waiting_executions)
                .where(t.execution_id == waiting.execution_id, t.attempts == waiting.attempts)
                .where(_unclaimed(now))
                .values(claimed_until=now + timedelta(seconds=lease_s))
            )
            claimed = done.rowcount == 1

        await self.storage.write(write)
        return claimed

    def drop(self, execution_id: str) -> asyncio.Future[None]:
        def write(conn: sa.Connection) -> None:
            conn.execute(_one(execution_id))

        return self.storage.write(write)


def _one(execution_id: str) -> sa.Delete:
    return sa.delete(waiting_executions).where(waiting_executions.c.execution_id == execution_id)


def _unclaimed(now: datetime) -> sa.ColumnElement[bool]:
    t = waiting_executions.c
    return sa.or_(t.claimed_until.is_(None), t.claimed_until <= now)
