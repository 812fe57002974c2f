"""A workflow sends files out: ``message`` and ``end`` nodes take ``attachments`` (a URL
fetched through the SSRF guard, base64 data, or a file the run holds), each stored and given
back as ``{id, name, mime_type, size, url}`` — on the node's output, its ``MessageSent``
event, and the execution's result. Hostile authors get node errors, never someone's file."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from config.files import FilesSettings
from config.outbound import HttpSettings
from engine.errors import DestinationNotAllowed, ExecutionFailed
from engine.files.store import FileStore
from engine.net.client import OutboundHttp
from engine.run.executor import Executor
from engine.workflow.events import Event, MessageSent
from engine.workflow.nodes.files import DOWNLOADS, FILES
from tests.engine.executors import MakeExecutor
from tests.support.net import free_port
from tests.support.workflow_docs import compile_doc, link, refused

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
START = {
    "id": "start",
    "type": "start",
    "config": {
        "input_params": [
            {"name": "user_input"},
            {"name": "doc", "type": "file", "required": False},
            {"name": "meta", "type": "object", "required": False},
        ]
    },
}


def message(node_id: str, content: str, *attachments: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "message",
        "config": {"content": content, "attachments": list(attachments)},
    }


def end(*attachments: dict[str, Any], **config: Any) -> dict[str, Any]:
    return {"id": "end", "type": "end", "config": {"attachments": list(attachments), **config}}


@pytest.fixture
async def site() -> AsyncIterator[str]:
    """A picture on 127.0.0.2, "another host" the admin opted in."""
    port = free_port()

    async def cat(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    app = web.Application()
    app.router.add_get("/cat.png", cat)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.2", port).start()
    yield f"http://127.0.0.2:{port}"
    await runner.cleanup()


@pytest.fixture
async def with_files(executor: MakeExecutor) -> AsyncIterator[tuple[Executor, FileStore]]:
    ex = executor()
    store = await FileStore(ex.storage, FilesSettings(max_bytes=4096)).open()
    outbound = OutboundHttp(HttpSettings(allow_networks=("127.0.0.2/32",)))
    ex.owner_services[FILES.name] = store.of_owner
    ex.services[DOWNLOADS.name] = outbound
    yield ex, store
    await outbound.close()


async def test_a_message_sends_a_picture_by_url_and_the_end_a_generated_file(
    with_files: tuple[Executor, FileStore], site: str
) -> None:
    ex, store = with_files
    wf = compile_doc(
        [
            START,
            message("look", "Here it is", {"url": f"{site}/cat.png"}),
            end(
                {"data": base64.b64encode(b"id,qty\nA-17,2\n").decode(), "name": "{{inputs.user_input}}.csv"}
            ),
        ],
        link("start>look", "look>end"),
    )
    events: list[Event] = []
    record = await ex.execute("wf", wf, {"user_input": "order"}, owner="alice", sink=events.append)
    sent = next(e for e in events if isinstance(e, MessageSent))
    assert [(a["name"], a["mime_type"], a["size"]) for a in sent.attachments] == [
        ("cat.png", "image/png", len(PNG))
    ]
    assert record.outputs["look"]["attachments"] == list(sent.attachments)
    csv = record.outputs["end"]["attachments"][0]
    assert (csv["name"], csv["mime_type"]) == ("order.csv", "text/csv")
    assert record.result is not None
    assert [a["id"] for a in record.result["attachments"]] == [sent.attachments[0]["id"], csv["id"]]
    assert await store.read(csv["id"]) == b"id,qty\nA-17,2\n"
    assert await store.read(sent.attachments[0]["id"]) == PNG


async def test_a_file_the_run_holds_is_sent_again_with_a_fresh_url(
    with_files: tuple[Executor, FileStore],
) -> None:
    ex, store = with_files
    held = await store.put(
        b"scan", name="scan.pdf", mime_type="application/pdf", session_id=None, owner="alice"
    )
    wf = compile_doc([START, end({"file": "{{start.doc}}"})], link("start>end"))
    record = await ex.execute("wf", wf, {"user_input": "x", "doc": held}, owner="alice")
    assert record.result is not None
    assert [a["id"] for a in record.result["attachments"]] == [held["id"]]


async def test_a_made_up_file_of_someone_else_is_not_sent(with_files: tuple[Executor, FileStore]) -> None:
    ex, store = with_files
    theirs = await store.put(b"private", name="p.txt", mime_type="text/plain", session_id=None, owner="bob")
    wf = compile_doc([START, end({"file": "{{start.meta}}"})], link("start>end"))
    with pytest.raises(ExecutionFailed, match="no such file of this workflow's"):
        await ex.execute("wf", wf, {"user_input": "x", "meta": theirs}, owner="mallory")


async def test_an_attachment_url_on_a_refused_address_is_a_node_error(
    with_files: tuple[Executor, FileStore],
) -> None:
    ex, _ = with_files
    wf = compile_doc([START, end({"url": f"http://127.0.0.3:{free_port()}/x"})], link("start>end"))
    with pytest.raises(DestinationNotAllowed, match="loopback") as caught:
        await ex.execute("wf", wf, {"user_input": "x"}, owner="alice")
    assert caught.value.details["node"] == "end"


async def test_an_attachment_over_the_limit_fails_the_node_with_the_limit(
    with_files: tuple[Executor, FileStore],
) -> None:
    ex, _ = with_files
    big = base64.b64encode(b"x" * 5000).decode()
    wf = compile_doc([START, end({"data": big, "name": "big.bin"})], link("start>end"))
    with pytest.raises(ExecutionFailed, match="attachment 0 of node 'end': files may be at most 4 KiB"):
        await ex.execute("wf", wf, {"user_input": "x"}, owner="alice")


def test_an_attachment_needs_one_source_and_a_node_at_most_ten() -> None:
    assert "exactly one of 'url', 'data' and 'file'" in refused(
        [START, end({"url": "https://example.invalid/a", "data": "AA=="})], link("start>end")
    )
    assert "at most 10" in refused([START, end(*[{"data": "AA=="}] * 11)], link("start>end"))
