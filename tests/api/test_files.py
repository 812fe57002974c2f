"""A developer sends files to a workflow over REST and gets files back: a document inline as
base64 or a picture by URL (fetched through the SSRF guard, from a service on 127.0.0.2 the
admin opted in), each stored and handed to the workflow as ``{id, name, mime_type, size,
url}``; the signed URL downloads it without a key until it expires. Files over the limit, past
the quota, from a refused address, or forged are refused with a clear message; a session's
reset and the retention sweep delete them."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import aiohttp
import pytest
from aiohttp import web

from tests.api.support import SSE, assert_error, create_workflow, wait_until
from tests.support.chatgate import ChatgateProcess, StartChatgate
from tests.support.net import free_port

KIB = 1024
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # enough of a picture for a test

TAKES_FILES = {
    "name": "takes_files",
    "nodes": [
        {
            "id": "start",
            "type": "start",
            "config": {
                "input_params": [
                    {"name": "user_input", "type": "string", "required": False},
                    {"name": "doc", "type": "file", "required": False},
                    {"name": "photos", "type": "files", "required": False},
                ]
            },
        },
        {
            "id": "end",
            "type": "end",
            "config": {
                "content": "got {{start.doc.name}}",
                "outputs": {"doc": "{{start.doc}}", "photos": "{{start.photos}}"},
            },
        },
    ],
    "connections": [{"from": "start", "to": "end"}],
}


class FileService:
    """A small site on a loopback address serving files, and noting every request it got."""

    def __init__(self, host: str) -> None:
        self.host, self.port = host, free_port()
        self.requests: list[str] = []
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    async def __aenter__(self) -> FileService:
        async def cat(request: web.Request) -> web.Response:
            self.requests.append(request.path)
            return web.Response(body=PNG, content_type="image/png")

        async def big(request: web.Request) -> web.StreamResponse:
            self.requests.append(request.path)
            response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
            await response.prepare(request)  # chunked, no length said: counted as it arrives
            for _ in range(200):
                await response.write(b"x" * KIB)
            await response.write_eof()
            return response

        app = web.Application()
        app.router.add_get("/cat.png", cat)
        app.router.add_get("/big", big)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def site() -> AsyncIterator[FileService]:
    async with FileService("127.0.0.2") as running:
        yield running


@pytest.fixture
async def elsewhere() -> AsyncIterator[FileService]:
    """Another "host" of this machine, which the admin did not opt in."""
    async with FileService("127.0.0.3") as running:
        yield running


def files_config(**files: Any) -> Callable[[dict[str, Any]], None]:
    def configure(config: dict[str, Any]) -> None:
        config["files"] = {"max_bytes": 64 * KIB, **files}
        config["http"] = {"allow_networks": ["127.0.0.2/32"]}

    return configure


@pytest.fixture
async def gate(start_chatgate: StartChatgate) -> ChatgateProcess:
    return await start_chatgate(files_config(), workflows={})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def execute(http: aiohttp.ClientSession, wid: str, **inputs: Any) -> tuple[int, dict[str, Any]]:
    payload: dict[str, Any] = {"inputs": inputs}
    session_id = inputs.pop("session_id", None)
    if session_id is not None:
        payload["session_id"] = session_id
    async with http.post(f"/api/v1/workflows/{wid}/execute", json=payload) as r:
        return r.status, await r.json()


async def download(gate: ChatgateProcess, url: str) -> tuple[int, bytes, dict[str, str]]:
    """What anyone holding the URL gets: no API key."""
    async with aiohttp.ClientSession(base_url=gate.base_url) as anyone, anyone.get(url) as r:
        return r.status, await r.read(), dict(r.headers)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return urlunsplit(parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())))


async def test_a_document_sent_as_base64_reaches_the_workflow_and_downloads_by_its_url(
    gate: ChatgateProcess,
) -> None:
    text = b"Order A-17: two chairs.\n" * 20
    async with gate.client() as http:
        wid = await create_workflow(http, TAKES_FILES)
        status, body = await execute(
            http, wid, doc={"name": "order.txt", "mime_type": "text/plain", "data": b64(text)}
        )
    assert status == 200, body
    doc = body["result"]["doc"]
    assert body["result"]["content"] == "got order.txt"
    assert set(doc) == {"id", "name", "mime_type", "size", "url"}
    assert (doc["name"], doc["mime_type"], doc["size"]) == ("order.txt", "text/plain", len(text))
    assert doc["id"].startswith("file_")
    status, data, headers = await download(gate, doc["url"])
    assert status == 200
    assert data == text
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["Content-Disposition"].startswith('attachment; filename="order.txt"')
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_pictures_by_url_are_fetched_from_an_opted_in_host(
    gate: ChatgateProcess, site: FileService
) -> None:
    async with gate.client() as http:
        wid = await create_workflow(http, TAKES_FILES)
        status, body = await execute(
            http,
            wid,
            photos=[{"url": site.url("/cat.png")}, {"url": site.url("/cat.png"), "name": "again.png"}],
        )
    assert status == 200, body
    photos = body["result"]["photos"]
    assert [(p["name"], p["mime_type"], p["size"]) for p in photos] == [
        ("cat.png", "image/png", len(PNG)),
        ("again.png", "image/png", len(PNG)),
    ]
    assert photos[0]["id"] != photos[1]["id"]
    status, data, headers = await download(gate, photos[0]["url"])
    assert (status, data) == (200, PNG)
    assert headers["Content-Disposition"].startswith("inline")  # a picture may be shown


async def test_a_url_on_a_refused_address_is_a_400_and_is_never_fetched(
    gate: ChatgateProcess, elsewhere: FileService
) -> None:
    async with gate.client() as http:
        wid = await create_workflow(http, TAKES_FILES)
        status, body = await execute(http, wid, doc={"url": elsewhere.url("/cat.png")})
    assert status == 400, body
    error = assert_error(body, "destination_not_allowed")
    assert error["details"]["refused"] == "loopback"
    assert error["details"]["input"] == "inputs.doc"
    assert "127.0.0.3" in error["message"]
    assert elsewhere.requests == []


async def test_files_over_the_limit_are_refused_with_the_limit_in_the_message(
    gate: ChatgateProcess, site: FileService
) -> None:
    async with gate.client() as http:
        wid = await create_workflow(http, TAKES_FILES)
        inline, inline_body = await execute(
            http, wid, doc={"name": "big.bin", "data": b64(b"x" * (64 * KIB + 1))}
        )
        fetched, fetched_body = await execute(http, wid, doc={"url": site.url("/big")})
    assert inline == 413, inline_body
    error = assert_error(inline_body, "payload_too_large")
    assert "files may be at most 64 KiB" in error["message"]
    assert error["details"] == {"max_bytes": 64 * KIB}
    assert fetched == 413, fetched_body
    assert "files may be at most 64 KiB" in assert_error(fetched_body, "payload_too_large")["message"]


async def test_bad_file_values_are_400s_that_say_what_is_wrong(gate: ChatgateProcess) -> None:
    cases: list[tuple[dict[str, Any], list[Any], str]] = [
        (
            {"doc": {"name": "a.txt", "data": "not base64!"}},
            ["body", "inputs", "doc", "data"],
            "not valid base64",
        ),
        ({"doc": {"data": b64(b"hi")}}, ["body", "inputs", "doc", "name"], "is required"),
        ({"doc": {"name": "a.txt"}}, ["body", "inputs", "doc"], "exactly one of 'data'"),
        ({"doc": {"url": "file:///etc/passwd"}}, ["body", "inputs", "doc", "url"], "http or https URL"),
        ({"photos": {"url": "https://example.invalid/a.png"}}, ["body", "inputs", "photos"], "list of files"),
        # a file already stored cannot be named by its id: only bytes or a URL come in
        (
            {"doc": {"id": "file_0", "name": "x", "mime_type": "text/plain", "size": 1, "url": "/x"}},
            ["body", "inputs", "doc", "id"],
            "unknown field",
        ),
    ]
    async with gate.client() as http:
        wid = await create_workflow(http, TAKES_FILES)
        for inputs, loc, msg in cases:
            status, body = await execute(http, wid, **inputs)
            assert status == 400, (inputs, body)
            error = assert_error(body, "invalid_request")
            assert error["details"][0]["loc"] == loc, (inputs, error)
            assert msg in error["details"][0]["msg"], (inputs, error)


async def test_a_changed_or_forged_signature_is_refused(gate: ChatgateProcess) -> None:
    async with gate.client() as http:
        wid = await create_workflow(http, TAKES_FILES)
        _, body = await execute(http, wid, doc={"name": "a.txt", "data": b64(b"private")})
    url = body["result"]["doc"]["url"]
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    for forged in (
        with_query(url, expires=str(expires + 86400)),  # a longer life written in
        with_query(url, signature="0" * 64),
        url.replace(body["result"]["doc"]["id"], "file_other"),
    ):
        status, data, _ = await download(gate, forged)
        assert status == 403, forged
        assert b"forbidden" in data
    assert (await download(gate, url))[1] == b"private"


async def test_the_quota_refuses_a_file_past_it_with_a_message(start_chatgate: StartChatgate) -> None:
    gate = await start_chatgate(files_config(quota_bytes=100 * KIB), workflows={})
    async with gate.client() as http:
        wid = await create_workflow(http, TAKES_FILES)
        first, _ = await execute(http, wid, doc={"name": "a.bin", "data": b64(b"a" * 60 * KIB)})
        status, body = await execute(http, wid, doc={"name": "b.bin", "data": b64(b"b" * 60 * KIB)})
    assert first == 200
    assert status == 413, body
    assert "no room for more files" in assert_error(body, "payload_too_large")["message"]


async def test_a_session_reset_deletes_its_files(gate: ChatgateProcess) -> None:
    async with gate.client() as http:
        wid = await create_workflow(http, TAKES_FILES)
        _, kept = await execute(http, wid, doc={"name": "k.txt", "data": b64(b"kept")}, session_id="other")
        _, body = await execute(http, wid, doc={"name": "a.txt", "data": b64(b"mine")}, session_id="s1")
        assert (await download(gate, body["result"]["doc"]["url"]))[0] == 200
        async with http.delete("/api/v1/sessions/s1") as r:
            assert r.status == 200
    status, data, _ = await download(gate, body["result"]["doc"]["url"])
    assert status == 404
    assert b"not_found" in data
    assert (await download(gate, kept["result"]["doc"]["url"]))[0] == 200


async def test_files_expire_after_the_retention_and_urls_after_their_time(
    start_chatgate: StartChatgate,
) -> None:
    gate = await start_chatgate(
        files_config(retention_days=3 / 86400, sweep_s=0.2, url_ttl_s=1), workflows={}
    )
    async with gate.client() as http:
        wid = await create_workflow(http, TAKES_FILES)
        _, body = await execute(http, wid, doc={"name": "a.txt", "data": b64(b"soon gone")})
    url = body["result"]["doc"]["url"]
    assert (await download(gate, url))[0] == 200
    await asyncio.sleep(2.1)  # the URL's second is over
    status, data, _ = await download(gate, url)
    assert status == 403
    assert b"expired" in data

    # The sweep deleted it (the operator's log says so; no URL of it works any more).
    await wait_until(lambda: "deleted 1 file(s) older than files.retention_days" in gate.logs(), within_s=10)


SENDS_FILES = {
    "name": "sends_files",
    "nodes": [
        {
            "id": "start",
            "type": "start",
            "config": {
                "input_params": [{"name": "user_input"}, {"name": "doc", "type": "file", "required": False}]
            },
        },
        {
            "id": "look",
            "type": "message",
            "config": {"content": "Here is the cat", "attachments": [{"url": "{{inputs.user_input}}"}]},
        },
        {
            "id": "end",
            "type": "end",
            "config": {
                "content": "and your file back",
                "attachments": [
                    {"data": b64(b"id,qty\nA-17,2\n"), "name": "order.csv"},
                    {"file": "{{start.doc}}"},
                ],
            },
        },
    ],
    "connections": [{"from": "start", "to": "look"}, {"from": "look", "to": "end"}],
}


async def test_a_workflow_sends_files_back_in_the_result_and_on_the_stream(
    gate: ChatgateProcess, site: FileService
) -> None:
    doc = {"name": "mine.txt", "mime_type": "text/plain", "data": b64(b"my notes")}
    async with gate.client() as http:
        wid = await create_workflow(http, SENDS_FILES)
        status, body = await execute(http, wid, user_input=site.url("/cat.png"), doc=doc)
        payload = {"inputs": {"user_input": site.url("/cat.png")}, "stream": True}
        async with http.post(f"/api/v1/workflows/{wid}/execute", json=payload) as r:
            events = await SSE(r).all()
    assert status == 200, body
    sent = body["result"]["attachments"]
    assert [(a["name"], a["mime_type"]) for a in sent] == [
        ("cat.png", "image/png"),
        ("order.csv", "text/csv"),
        ("mine.txt", "text/plain"),
    ]
    assert body["result"]["messages"] == ["Here is the cat"]
    contents = [await download(gate, a["url"]) for a in sent]
    assert [c[1] for c in contents] == [PNG, b"id,qty\nA-17,2\n", b"my notes"]
    said = next(data for name, data in events if name == "message")
    assert [a["name"] for a in said["attachments"]] == ["cat.png"]
    finished = next(data for name, data in events if name == "execution_finished")
    assert [a["name"] for a in finished["result"]["attachments"]] == ["cat.png", "order.csv"]  # no doc sent
