"""What a chat user sends besides text goes into the workflow's file input, stored with the
session; a bot whose workflow takes no file, or a file over files.max_bytes, is refused — where
the platform says the size, before a byte is downloaded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bots.files import Received, take
from bots.messages import NON_TEXT, chat_message
from config.files import FilesSettings
from engine.errors import FileNotTaken, FileTooLarge
from engine.files.store import FileStore
from engine.store.writer import Storage
from engine.workflow.nodes.start import StartNode
from tests.support.workflow_docs import compile_doc


@pytest.fixture
async def store(tmp_path: Any) -> AsyncIterator[FileStore]:
    storage = Storage(f"sqlite:///{tmp_path / 'files.db'}")
    await storage.open()
    try:
        yield await FileStore(storage, FilesSettings(max_bytes=1000)).open()
    finally:
        await storage.close()


def start_taking(kind: str | None) -> StartNode:
    params: list[dict[str, Any]] = [{"name": "user_input"}]
    if kind is not None:
        params.append({"name": "photo", "type": kind})
    start = {"id": "start", "type": "start", "config": {"input_params": params}}
    return compile_doc([start], []).start


class Sent:
    """A file on the platform's side: counts its downloads."""

    def __init__(self, data: bytes, *, said_size: bool = True, name: str = "cat.jpg") -> None:
        self.data, self.fetched = data, 0
        self.received = Received("photo", name, "image/jpeg", len(data) if said_size else None, self.fetch)

    async def fetch(self, at_most: int) -> bytes:
        self.fetched += 1
        return self.data[: at_most + 1]


async def test_a_photo_fills_the_file_input_and_is_kept_with_the_session(store: FileStore) -> None:
    sent = Sent(b"\xff\xd8jpeg")
    taken = await take([sent.received], start_taking("file"), store, session_id="tg:1", owner="bot:tg")
    ref = taken.value()
    assert taken.name == "photo"
    assert (ref["name"], ref["mime_type"], ref["size"]) == ("cat.jpg", "image/jpeg", 6)
    assert await store.read(ref["id"]) == b"\xff\xd8jpeg"
    assert await store.delete_session("tg:1") == 1


async def test_an_album_fills_a_files_input_as_a_list(store: FileStore) -> None:
    album = [Sent(b"one", name="1.jpg"), Sent(b"two", name="2.jpg")]
    taken = await take([s.received for s in album], start_taking("files"), store, session_id="s", owner="o")
    assert [f["name"] for f in taken.value()] == ["1.jpg", "2.jpg"]


async def test_a_workflow_without_a_file_input_refuses_without_downloading(store: FileStore) -> None:
    sent = Sent(b"jpeg")
    with pytest.raises(FileNotTaken) as caught:
        await take([sent.received], start_taking(None), store, session_id="s", owner="o")
    assert sent.fetched == 0
    assert chat_message(caught.value) == NON_TEXT


@pytest.mark.parametrize("said_size", [True, False])
async def test_a_file_over_the_limit_is_refused_with_the_limit(store: FileStore, said_size: bool) -> None:
    sent = Sent(b"x" * 1001, said_size=said_size)
    with pytest.raises(FileTooLarge) as caught:
        await take([sent.received], start_taking("file"), store, session_id="s", owner="o")
    assert sent.fetched == (0 if said_size else 1)  # a size the platform said costs no download
    assert chat_message(caught.value) == "That file is too big: I can read files up to 1000 bytes."


async def test_a_file_of_a_type_the_input_does_not_take_is_refused_saying_what_it_takes(
    store: FileStore,
) -> None:
    params = [
        {"name": "user_input"},
        {"name": "scan", "type": "file", "accept": ["image/*", "application/pdf"]},
    ]
    start = compile_doc([{"id": "start", "type": "start", "config": {"input_params": params}}], []).start
    word = Sent(b"docx")
    word.received = Received("document", "cv.docx", "application/msword", 4, word.fetch)
    with pytest.raises(FileNotTaken) as caught:
        await take([word.received], start, store, session_id="s", owner="o")
    assert word.fetched == 0
    assert chat_message(caught.value) == "I can only read photos and PDFs up to 1000 bytes."
    photo = Sent(b"jpeg")
    taken = await take([photo.received], start, store, session_id="s", owner="o")
    assert taken.value()["mime_type"] == "image/jpeg"
