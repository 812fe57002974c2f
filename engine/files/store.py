"""`FileStore`: files kept in the database with a per-file limit and a total quota, served by
signed URL, deleted with their session or after ``files.retention_days``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from config.files import FilesSettings
from engine.clock import new_id, utcnow
from engine.errors import FileQuotaExceeded, FileTooLarge, NotFound
from engine.files import FileRef, size_text
from engine.files.names import clean_name, clean_type
from engine.files.signing import UrlSigner
from engine.store.files import FileRows, QuotaFull, StoredFile
from engine.store.writer import Storage

log = logging.getLogger("chatgate.files")


def too_large(max_bytes: int, size: int | None = None) -> FileTooLarge:
    what = f" (this one is {size_text(size)})" if size is not None else ""
    return FileTooLarge(
        f"files may be at most {size_text(max_bytes)}{what}",
        {"max_bytes": max_bytes},
    )


class FileStore:
    """``open()`` reads the signing key before the first URL is made."""

    def __init__(self, storage: Storage, settings: FilesSettings, public_url: str | None = None) -> None:
        self.rows = FileRows(storage)
        self.settings = settings  # replaced on reload (`use`)
        self.public_url = public_url
        self._signer: UrlSigner | None = None

    async def open(self) -> FileStore:
        self._signer = UrlSigner(await self.rows.signing_key(), self.settings.url_ttl_s, self.public_url)
        return self

    def use(self, settings: FilesSettings, public_url: str | None) -> None:
        """New settings for what happens from now on (a reload)."""
        self.settings, self.public_url = settings, public_url
        if self._signer is not None:
            self._signer.ttl_s, self._signer.public_url = settings.url_ttl_s, public_url

    @property
    def signer(self) -> UrlSigner:
        assert self._signer is not None, "FileStore.open() was not called"
        return self._signer

    async def put(
        self, data: bytes, *, name: str, mime_type: str | None, session_id: str | None, owner: str
    ) -> FileRef:
        """Store ``data``; the file as the pool holds it. `FileTooLarge` past
        ``files.max_bytes``, `FileQuotaExceeded` past ``files.quota_bytes`` (nothing stored)."""
        limits = self.settings
        if len(data) > limits.max_bytes:
            raise too_large(limits.max_bytes, len(data))
        clean = clean_name(name)
        stored = StoredFile(
            id=new_id("file"),
            owner=owner,
            session_id=session_id,
            name=clean,
            mime_type=clean_type(mime_type, clean),
            size=len(data),
            created_at=utcnow(),
        )
        try:
            await self.rows.insert(stored, data, limits.quota_bytes)
        except QuotaFull as full:
            log.warning(
                "file store full: %s of files.quota_bytes (%s) in use; refused %s",
                size_text(full.used),
                size_text(limits.quota_bytes),
                size_text(len(data)),
            )
            raise FileQuotaExceeded(
                f"there is no room for more files right now (every file together may take at most "
                f"{size_text(limits.quota_bytes)}); try again once older ones expire",
                {"max_bytes": limits.quota_bytes},
            ) from None
        return self.ref(stored)

    async def read(self, file_id: str) -> bytes:
        data = await self.rows.data(file_id)
        if data is None:
            raise NotFound(f"file '{file_id}' not found", {"file_id": file_id})
        return data

    async def meta(self, file_id: str) -> FileRef | None:
        """The file as the pool holds it, with a fresh URL; None when it is gone."""
        found = await self.rows.meta(file_id)
        return None if found is None else self.ref(found)

    async def stored(self, file_id: str) -> StoredFile | None:
        return await self.rows.meta(file_id)

    async def delete_session(self, session_id: str) -> int:
        return await self.rows.forget_session(session_id)

    async def sweep(self) -> int:
        """Delete the files older than ``files.retention_days``; how many."""
        cutoff = utcnow() - timedelta(days=self.settings.retention_days)
        removed = await self.rows.forget_older(cutoff)
        if removed:
            log.info("deleted %d file(s) older than files.retention_days", removed)
        return removed

    def of_owner(self, owner: str) -> OwnerFiles:
        return OwnerFiles(self, owner)

    def ref(self, f: StoredFile) -> FileRef:
        return {
            "id": f.id,
            "name": f.name,
            "mime_type": f.mime_type,
            "size": f.size,
            "url": self.signer.url(f.id),
        }


class OwnerFiles:
    """The files service of one execution (`engine.files.RunFiles`): its owner's files only,
    so an id a node made up reads nothing of anyone else's."""

    def __init__(self, store: FileStore, owner: str) -> None:
        self.store = store
        self.owner = owner

    @property
    def max_bytes(self) -> int:
        return self.store.settings.max_bytes

    async def _own(self, file_id: str) -> StoredFile:
        found = await self.store.stored(file_id)
        if found is None or found.owner != self.owner:
            raise NotFound(f"file '{file_id}' not found", {"file_id": file_id})
        return found

    async def read(self, file_id: str) -> bytes:
        await self._own(file_id)
        return await self.store.read(file_id)

    async def keep(self, data: bytes, *, name: str, mime_type: str | None, session_id: str | None) -> FileRef:
        return await self.store.put(
            data, name=name, mime_type=mime_type, session_id=session_id, owner=self.owner
        )

    async def again(self, file: Mapping[str, Any]) -> FileRef:
        file_id = file.get("id")
        if not isinstance(file_id, str):
            raise NotFound("that is not a stored file", {"file_id": ""})
        return self.store.ref(await self._own(file_id))


async def sweep_forever(store: FileStore) -> None:
    """Every ``files.sweep_s`` (read again each time: a reload may change it)."""
    while True:
        await asyncio.sleep(store.settings.sweep_s)
        try:
            await store.sweep()
        except Exception:  # the database away for a moment: the next sweep tries again
            log.warning("could not delete expired files", exc_info=True)
