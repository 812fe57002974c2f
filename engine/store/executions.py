"""Execution records: their rows in ``executions``, written with the group commit."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from engine.clock import as_utc
from engine.record import ExecutionRecord
from engine.record_cap import is_capped
from engine.store.tables import executions
from engine.store.writer import Storage, TableRows


class Executions:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def save(self, row: dict[str, Any], others: TableRows) -> asyncio.Future[None]:
        """Queue the record's row and ``others`` (e.g. its session turn) for one commit; the
        future resolves once all of it is durable. Nothing is awaited here: the execute path
        pays for one queued write."""
        return self.storage.queue_inserts([(executions, [row]), *others])

    async def get(self, execution_id: str) -> ExecutionRecord | None:
        r = await self.storage.fetch_one(sa.select(executions).where(executions.c.id == execution_id))
        if r is None:
            return None
        return ExecutionRecord(
            execution_id=r.id,
            workflow_id=r.workflow_id,
            owner=r.owner,
            session_id=r.session_id,
            inputs=r.inputs,
            start_time=as_utc(r.start_time),
            status=r.status,
            outputs=r.outputs,
            result=r.result,
            error=r.error,
            end_time=as_utc(r.end_time) if r.end_time else None,
            nodes=r.nodes or {},
            truncated=is_capped(r.outputs, r.result),
        )
