"""Files kept in the database: stored and read back, bounded per file and in total, private
to their owner, and gone with their session or after the retention time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from config.files import FilesSettings
from engine.clock import utcnow
from engine.errors import FileQuotaExceeded, FileTooLarge, NotFound, PayloadTooLarge
from engine.files.store import FileStore
from engine.sessions import Sessions
from engine.store.tables import files
from engine.store.writer import Storage


@pytest.fixture
async def storage(storage_url: str) -> AsyncIterator[Storage]:
    s = Storage(storage_url)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def store_of(storage: Storage, **settings: object) -> FileStore:
    return await FileStore(storage, FilesSettings.model_validate(settings)).open()


async def test_a_file_put_is_read_back_byte_for_byte(storage: Storage) -> None:
    store = await store_of(storage)
    data = bytes(range(256)) * 10
    ref = await store.put(data, name="scan.pdf", mime_type="application/pdf", session_id="s1", owner="alice")
    assert ref["id"].startswith("file_")
    assert (ref["name"], ref["mime_type"], ref["size"]) == ("scan.pdf", "application/pdf", len(data))
    assert ref["url"].startswith(f"/api/v1/files/{ref['id']}?expires=")
    assert await store.read(ref["id"]) == data
    meta = await store.meta(ref["id"])
    assert meta is not None
    assert meta["size"] == len(data)


async def test_a_file_over_the_limit_is_refused_with_a_readable_message(storage: Storage) -> None:
    store = await store_of(storage, max_bytes=1024)
    with pytest.raises(FileTooLarge, match=r"files may be at most 1 KiB") as caught:
        await store.put(b"x" * 1025, name="big.bin", mime_type=None, session_id=None, owner="alice")
    assert isinstance(caught.value, PayloadTooLarge)
    assert await store.rows.used() == 0


async def test_the_quota_counts_everyones_files_and_refuses_past_it(storage: Storage) -> None:
    store = await store_of(storage, quota_bytes=3000)
    await store.put(b"a" * 2000, name="a", mime_type=None, session_id=None, owner="alice")
    with pytest.raises(FileQuotaExceeded, match="no room for more files"):
        await store.put(b"b" * 1001, name="b", mime_type=None, session_id=None, owner="bob")
    await store.put(b"c" * 1000, name="c", mime_type=None, session_id=None, owner="bob")  # exactly full
    assert await store.rows.used() == 3000


async def test_a_run_reads_only_its_owners_files(storage: Storage) -> None:
    store = await store_of(storage)
    ref = await store.put(b"secret", name="a.txt", mime_type="text/plain", session_id=None, owner="alice")
    assert await store.of_owner("alice").read(ref["id"]) == b"secret"
    with pytest.raises(NotFound):
        await store.of_owner("mallory").read(ref["id"])
    with pytest.raises(NotFound):
        await store.of_owner("mallory").again(ref)
    again = await store.of_owner("alice").again({"id": ref["id"]})
    assert again["name"] == "a.txt"


async def test_a_session_reset_deletes_its_files_and_no_others(storage: Storage) -> None:
    store = await store_of(storage)
    mine = await store.put(b"1", name="a", mime_type=None, session_id="api:alice:s1", owner="alice")
    other = await store.put(b"2", name="b", mime_type=None, session_id="api:alice:s2", owner="alice")
    await Sessions(storage, max_turns=5).reset("api:alice:s1")
    assert await store.meta(mine["id"]) is None
    with pytest.raises(NotFound):
        await store.read(mine["id"])
    assert await store.meta(other["id"]) is not None


async def test_the_sweep_deletes_files_past_their_retention(storage: Storage) -> None:
    store = await store_of(storage, retention_days=1)
    old = await store.put(b"old", name="old", mime_type=None, session_id=None, owner="alice")
    new = await store.put(b"new", name="new", mime_type=None, session_id=None, owner="alice")
    two_days_ago = utcnow() - timedelta(days=2)

    def age(conn: sa.Connection) -> None:
        conn.execute(files.update().where(files.c.id == old["id"]).values(created_at=two_days_ago))

    await storage.write(age)
    assert await store.sweep() == 1
    assert await store.meta(old["id"]) is None
    assert await store.read(new["id"]) == b"new"


async def test_every_process_on_the_database_signs_with_the_same_key(storage: Storage) -> None:
    one, two = await store_of(storage), await store_of(storage)
    ref = await one.put(b"x", name="x", mime_type=None, session_id=None, owner="alice")
    assert two.signer.signature(ref["id"], 99) == one.signer.signature(ref["id"], 99)
