"""Files sent as inputs are checked whole before any is stored: a request refused for one bad
value leaves nothing behind, and what is stored is the caller's, with the session."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from config.files import FilesSettings
from config.outbound import HttpSettings
from engine.errors import FileTooLarge, InvalidRequest
from engine.files.intake import read_inputs, store_inputs
from engine.files.store import FileStore
from engine.net.client import OutboundHttp
from engine.store.writer import Storage

INPUTS = (("doc", False), ("photos", True))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[FileStore]:
    storage = Storage(f"sqlite:///{tmp_path / 'files.db'}")
    await storage.open()
    yield await FileStore(storage, FilesSettings(max_bytes=1000)).open()
    await storage.close()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_one_bad_file_refuses_the_request_before_any_is_stored(store: FileStore) -> None:
    raw = {"doc": {"name": "a.txt", "data": b64(b"fine")}, "photos": [{"name": "b.png", "data": "%%%"}]}
    with pytest.raises(InvalidRequest) as caught:
        read_inputs(INPUTS, raw, 1000)
    assert caught.value.details[0]["loc"] == ["body", "inputs", "photos", 0, "data"]
    assert await store.rows.used() == 0


async def test_an_oversized_base64_text_is_refused_without_decoding(store: FileStore) -> None:
    with pytest.raises(FileTooLarge, match="at most 1000 bytes"):
        read_inputs(INPUTS, {"doc": {"name": "a", "data": "A" * 100_000}}, 1000)


async def test_stored_files_belong_to_the_caller_and_the_session(store: FileStore) -> None:
    raw = {
        "doc": {"name": "a.txt", "data": "data:text/plain;base64," + b64(b"hello")},
        "photos": [{"name": "p.png", "mime_type": "image/png", "data": b64(b"\x89PNG")}],
    }
    read = read_inputs(INPUTS, raw, 1000)
    client = OutboundHttp(HttpSettings())
    try:
        stored = await store_inputs(read, store, client, owner="alice", session_id="api:alice:s1")
    finally:
        await client.close()
    assert stored["doc"]["mime_type"] == "text/plain"  # from the data URL
    assert [p["name"] for p in stored["photos"]] == ["p.png"]
    assert await store.of_owner("alice").read(stored["doc"]["id"]) == b"hello"
    assert await store.delete_session("api:alice:s1") == 2
