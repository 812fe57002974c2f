"""Workflows made through the API: their rows in ``workflows``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.clock import as_utc
from engine.store.tables import workflows
from engine.store.writer import Storage


@dataclass(frozen=True, slots=True)
class WorkflowRow:
    id: str
    owner: str
    name: str
    description: str
    document: dict[str, Any]  # its nodes and connections
    status: str
    created_at: datetime
    updated_at: datetime


class Workflows:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def get(self, workflow_id: str) -> WorkflowRow | None:
        r = await self.storage.fetch_one(sa.select(workflows).where(workflows.c.id == workflow_id))
        if r is None:
            return None
        return WorkflowRow(
            r.id,
            r.owner,
            r.name,
            r.description,
            r.document,
            r.status,
            as_utc(r.created_at),
            as_utc(r.updated_at),
        )

    async def add(self, row: dict[str, Any]) -> None:
        await self.storage.insert(workflows, row)

    async def replace(self, workflow_id: str, row: dict[str, Any]) -> None:
        def write(conn: sa.Connection) -> None:
            conn.execute(workflows.update().where(workflows.c.id == workflow_id).values(**row))

        await self.storage.write(write)

    async def remove(self, workflow_id: str) -> None:
        def write(conn: sa.Connection) -> None:
            conn.execute(workflows.delete().where(workflows.c.id == workflow_id))

        await self.storage.write(write)

    async def count_owned(self, owner: str) -> int:
        n = await self.storage.scalar(
            sa.select(sa.func.count()).select_from(workflows).where(workflows.c.owner == owner)
        )
        return int(n or 0)

    async def owned_ids(self, owner: str, *, offset: int, limit: int) -> list[str]:
        """The ids of ``owner``'s workflows, oldest first."""
        rows = await self.storage.fetch_all(
            sa.select(workflows.c.id)
            .where(workflows.c.owner == owner)
            .order_by(workflows.c.created_at, workflows.c.id)
            .offset(offset)
            .limit(limit)
        )
        return [r.id for r in rows]
