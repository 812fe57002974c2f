"""Slow or idle clients cannot hold connections forever, and connections are capped.

Raw sockets on loopback against a real server whose limits are set short for the test.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from chatgate.http.server import derived_connection_cap
from tests.api.shared_server import SharedServer, serving
from tests.api.support import RawResponse, assert_error
from tests.support.chatgate import API_KEY, ChatgateProcess, StartChatgate, base_config
from tests.support.net import free_port


def limits(**server: Any) -> Any:
    def configure(config: dict[str, Any]) -> None:
        config["server"].update(server)

    return configure


@pytest.fixture(scope="module")
def short_limits(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServer]:
    """One server with every limit short, for the stories below."""
    workdir = tmp_path_factory.mktemp("short-limits")
    config = base_config(free_port(), workdir)
    # aiohttp's keep-alive timer also runs from the connection's start: longer than the header
    # timeout here (as by default), so a client that sends nothing meets the header timeout first.
    config["server"].update(header_timeout_s=0.5, body_timeout_s=0.5, keepalive_timeout_s=1.0)
    with serving(workdir, config) as base_url:
        yield SharedServer(base_url, workdir)


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """Everything the server sends until it closes the connection; fails if it is still open."""
    return await asyncio.wait_for(reader.read(), seconds)


async def connect(
    server: SharedServer | ChatgateProcess,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", urlsplit(server.base_url).port)


async def test_a_client_that_sends_nothing_is_closed_after_the_header_timeout(
    short_limits: SharedServer,
) -> None:
    gw = short_limits
    reader, writer = await connect(gw)
    answer = RawResponse(await closed_within(reader, 3))
    writer.close()
    assert answer.status == 408
    assert_error(answer.json(), "request_timeout")
    assert "server.header_timeout_s" in gw.logs()


async def test_trickling_header_bytes_does_not_extend_the_header_timeout(
    short_limits: SharedServer,
) -> None:
    reader, writer = await connect(short_limits)
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000

    async def trickle() -> None:
        for byte in request:
            writer.write(bytes([byte]))
            await asyncio.sleep(0.05)

    sending = asyncio.create_task(trickle())
    try:
        answer = RawResponse(await closed_within(reader, 3))
    finally:
        sending.cancel()
        writer.close()
    assert answer.status == 408


async def test_a_body_that_never_ends_loses_its_connection(short_limits: SharedServer) -> None:
    gw = short_limits
    reader, writer = await connect(gw)
    writer.write(
        b"POST /api/v1/workflows HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
        + API_KEY.encode()
        + b'\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"nam\r\n'
    )
    await writer.drain()
    await closed_within(reader, 3)  # the last chunk never comes; the server hangs up
    writer.close()
    async with gw.client(None) as http:
        assert (await http.get("/healthz")).status == 200
    assert "server.body_timeout_s" in gw.logs()
    assert "Traceback" not in gw.logs()


async def test_an_idle_keep_alive_connection_is_closed(short_limits: SharedServer) -> None:
    reader, writer = await connect(short_limits)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(
        next(
            line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
    )
    await reader.readexactly(length)
    assert await closed_within(reader, 3) == b""  # nothing more, then closed
    writer.close()


async def test_connections_past_the_cap_are_refused_with_503_and_logged_once(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(limits(max_connections=20, header_timeout_s=30))
    held = [await connect(gw) for _ in range(20)]
    await asyncio.sleep(0.2)
    refused = []
    for _ in range(5):
        reader, writer = await connect(gw)
        refused.append(RawResponse(await closed_within(reader, 3)))
        writer.close()
    for r in refused:
        assert r.status == 503
        assert_error(r.json(), "service_unavailable")
    assert gw.logs().count("connection cap reached") == 1
    for _, writer in held:
        writer.close()
    await asyncio.sleep(0.3)
    async with gw.client() as http:  # below the cap again: served
        assert (await http.get("/healthz")).status == 200


def test_the_default_cap_stays_below_the_open_files_limit() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = derived_connection_cap(llm_connections=1000)
    assert 0 < cap < soft
    assert cap <= soft - 1000 or cap == soft // 2  # room for the model client's connections
