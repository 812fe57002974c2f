"""A durable inbox, so an update Telegram considers delivered is never lost.

Telegram forgets an update once a later ``getUpdates`` passes its offset (or a
webhook call got its 200). Answers take seconds, and other chats' updates must
keep flowing meanwhile, so the offset runs ahead of the answers: without this
table, a crash (SIGKILL, OOM, power) would silently drop every update fetched
but not yet answered. Each update is written here (one group commit per batch)
*before* Telegram is told it arrived, removed once answered, and whatever is
left at startup is handled first. The router's ``seen_updates`` keys then make
sure nothing is answered twice.

The table belongs to the Telegram adapter alone, so it is declared and created
here rather than in the engine's schema.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.store.writer import MIGRATION_LOCK, Storage

log = logging.getLogger("chatgate.bots.telegram")

_metadata = sa.MetaData()
telegram_inbox = sa.Table(
    "telegram_inbox",
    _metadata,
    sa.Column("source", sa.String(128), primary_key=True),  # telegram:<bot name>
    sa.Column("update_id", sa.BigInteger, primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),  # the Update as Telegram sent it (JSON)
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)


class Inbox:
    def __init__(self, storage: Storage, source: str) -> None:
        self.storage = storage
        self.source = source
        self._done: list[int] = []
        self._flushing: asyncio.Task[None] | None = None

    async def open(self) -> None:
        def create(conn: sa.Connection) -> None:
            if conn.dialect.name == "postgresql":  # processes starting together: one at a time
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            _metadata.create_all(conn, checkfirst=True)

        # Through the storage's single writer: DDL on a connection of its own would
        # contend with it for SQLite's write lock (and can time out under load).
        await self.storage.write(create)

    async def add(self, updates: Sequence[tuple[int, str]]) -> None:
        """Keep these (update_id, Update as JSON) durably; one already kept is left as it is."""
        if not updates:
            return
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

    def done(self, update_id: int) -> None:
        """Forget an answered update. Not awaited and batched: if the deletion is lost in a
        crash, the update is resumed at the next start and the router's seen keys skip it."""
        self._done.append(update_id)
        if self._flushing is None:
            self._flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        try:
            while self._done:
                ids, self._done = self._done, []

                def write(conn: sa.Connection, ids: list[int] = ids) -> None:
                    conn.execute(
                        telegram_inbox.delete().where(
                            telegram_inbox.c.source == self.source, telegram_inbox.c.update_id.in_(ids)
                        )
                    )

                await self.storage.write(write)
        except Exception:
            log.warning(
                "could not clear answered updates from the inbox; they will be skipped at restart",
                exc_info=True,
            )
        finally:
            self._flushing = None

    async def close(self) -> None:
        """Write out pending deletions (graceful stop)."""
        if self._flushing is not None:
            await self._flushing

    async def pending(self) -> list[tuple[int, dict[str, Any]]]:
        """What a previous run received but did not finish, oldest first."""
        rows = await self.storage.fetch_all(
            sa.select(telegram_inbox.c.update_id, telegram_inbox.c.payload)
            .where(telegram_inbox.c.source == self.source)
            .order_by(telegram_inbox.c.update_id)
        )
        return [(int(r.update_id), orjson.loads(r.payload)) for r in rows]
