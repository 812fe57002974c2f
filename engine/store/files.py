"""Stored files: their rows in ``files`` (bytes included) and the URL-signing key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.clock import as_utc
from engine.store.tables import file_signing, files
from engine.store.writer import Storage

# Several processes putting at once on PostgreSQL: the quota's sum and the insert under one
# lock, so two puts cannot both fit into the last free bytes (SQLite's one writer is one already).
_QUOTA_LOCK = 0x66696C6573  # any constant shared by every chatgate ("files")
_KEY_NAME = "files"  # the signing key's row


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: str
    owner: str
    session_id: str | None
    name: str
    mime_type: str
    size: int
    created_at: datetime


class QuotaFull(Exception):
    """The insert would take the table past its quota: nothing was written."""

    def __init__(self, used: int) -> None:
        super().__init__(used)
        self.used = used


_META = (
    files.c.id,
    files.c.owner,
    files.c.session_id,
    files.c.name,
    files.c.mime_type,
    files.c.size,
    files.c.created_at,
)


def _loaded(r: sa.Row[Any]) -> StoredFile:
    return StoredFile(r.id, r.owner, r.session_id, r.name, r.mime_type, r.size, as_utc(r.created_at))


class FileRows:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def insert(self, file: StoredFile, data: bytes, quota_bytes: int) -> None:
        """Store the file, unless it would take every file together past ``quota_bytes``
        (`QuotaFull`, nothing stored)."""

        def write(conn: sa.Connection) -> None:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _QUOTA_LOCK})
            used = int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(files.c.size), 0))).scalar_one())
            if used + file.size > quota_bytes:
                raise QuotaFull(used)
            conn.execute(
                files.insert(),
                [
                    {
                        "id": file.id,
                        "owner": file.owner,
                        "session_id": file.session_id,
                        "name": file.name,
                        "mime_type": file.mime_type,
                        "size": file.size,
                        "created_at": file.created_at,
                        "data": data,
                    }
                ],
            )

        await self.storage.write(write)

    async def meta(self, file_id: str) -> StoredFile | None:
        r = await self.storage.fetch_one(sa.select(*_META).where(files.c.id == file_id))
        return None if r is None else _loaded(r)

    async def data(self, file_id: str) -> bytes | None:
        r = await self.storage.fetch_one(sa.select(files.c.data).where(files.c.id == file_id))
        return None if r is None else bytes(r.data)

    async def used(self) -> int:
        return int(await self.storage.scalar(sa.select(sa.func.coalesce(sa.func.sum(files.c.size), 0))))

    async def forget_session(self, session_id: str) -> int:
        """Delete the session's files; how many there were."""
        return await self._delete(files.c.session_id == session_id)

    async def forget_older(self, before: datetime) -> int:
        """Delete the files stored before ``before``; how many there were."""
        return await self._delete(files.c.created_at < before)

    async def _delete(self, where: sa.ColumnElement[bool]) -> int:
        removed = 0

        def write(conn: sa.Connection) -> None:
            nonlocal removed
            removed = conn.execute(files.delete().where(where)).rowcount or 0

        await self.storage.write(write)
        return removed

    async def signing_key(self) -> bytes:
        """The URL-signing key the migration made (made here if someone deleted it)."""
        found = await self.storage.scalar(
            sa.select(file_signing.c.secret).where(file_signing.c.name == _KEY_NAME)
        )
        if found is None:
            fresh = secrets.token_hex(32)

            def write(conn: sa.Connection) -> None:
                if conn.execute(sa.select(file_signing.c.name)).first() is None:
                    conn.execute(file_signing.insert(), [{"name": _KEY_NAME, "secret": fresh}])

            await self.storage.write(write)
            found = await self.storage.scalar(
                sa.select(file_signing.c.secret).where(file_signing.c.name == _KEY_NAME)
            )
        return bytes.fromhex(str(found))
