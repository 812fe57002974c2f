"""Telegram updates received and not yet answered: their rows in ``telegram_inbox``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.store.tables import telegram_inbox
from engine.store.writer import Storage


class InboxRows:
    """One source's (``telegram:<bot name>``) rows."""

    def __init__(self, storage: Storage, source: str) -> None:
        self.storage = storage
        self.source = source

    async def add(self, updates: Sequence[tuple[int, str]]) -> None:
        """Keep these (update_id, Update as JSON) durably; one already kept is left as it is."""
        now = datetime.now(UTC)
        rows = [
            {"source": self.source, "update_id": uid, "payload": payload, "received_at": now}
            for uid, payload in updates
        ]

        def write(conn: sa.Connection) -> None:
            # Telegram redelivers after a crash: insert-or-ignore keeps that harmless.
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(insert(telegram_inbox).on_conflict_do_nothing(), rows)

        await self.storage.write(write)

    async def remove(self, update_ids: list[int]) -> None:
        def write(conn: sa.Connection) -> None:
            conn.execute(
                telegram_inbox.delete().where(
                    telegram_inbox.c.source == self.source, telegram_inbox.c.update_id.in_(update_ids)
                )
            )

        await self.storage.write(write)

    async def pending(self) -> list[tuple[int, str]]:
        """Every kept (update_id, Update as JSON), oldest first."""
        rows = await self.storage.fetch_all(
            sa.select(telegram_inbox.c.update_id, telegram_inbox.c.payload)
            .where(telegram_inbox.c.source == self.source)
            .order_by(telegram_inbox.c.update_id)
        )
        return [(int(r.update_id), r.payload) for r in rows]
