"""Requests aiohttp refuses before any handler sees them still get the one envelope.

Sent over raw sockets, byte for byte as an attacker (or a broken client) would send them.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from tests.api.shared_server import SharedServer
from tests.api.support import assert_error, raw_request
from tests.support.chatgate import API_KEY, StartChatgate


def port_of(server: SharedServer) -> int:
    port = urlsplit(server.base_url).port
    assert port is not None
    return port


def post(path: str, key: str, headers: bytes, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n".encode()
        + headers
        + b"\r\n"
        + body
    )


GET = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"

MALFORMED = {
    "a header line over 8190 bytes": GET + b"X-Big: " + b"a" * 9000 + b"\r\n\r\n",
    "a URL over 8190 bytes": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "too many headers": GET + b"".join(b"X-H%d: v\r\n" % i for i in range(300)) + b"\r\n",
    "a negative Content-Length": b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
    "a NUL in a header": GET + b"X-A: a\x00b\r\n\r\n",
    "no Host in HTTP/1.1": b"GET /healthz HTTP/1.1\r\nX-A: b\r\n\r\n",
    "an unknown method": b"FROB /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "a request line that is not HTTP": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_request_aiohttp_cannot_parse_is_refused_in_the_envelope(
    shared_server: SharedServer, case: str
) -> None:
    r = await raw_request(port_of(shared_server), MALFORMED[case])
    assert r.status == 400, (r.status, r.body)
    error = assert_error(r.json(), "invalid_request")
    assert "malformed HTTP request" in error["message"]
    assert len(error["message"]) < 300  # the offending bytes are not echoed back in bulk


async def test_a_body_that_cannot_be_decoded_is_a_400_in_the_envelope(shared_server: SharedServer) -> None:
    key = shared_server.new_key()
    port = port_of(shared_server)
    execute = "/api/v1/workflows/support_bot/execute"
    not_gzip = b"this is not gzip at all"
    gzip = await raw_request(
        port,
        post(execute, key, b"Content-Encoding: gzip\r\nContent-Length: %d\r\n" % len(not_gzip), not_gzip),
    )
    bad_chunk = await raw_request(
        port, post(execute, key, b"Transfer-Encoding: chunked\r\n", b"zz\r\nhello\r\n0\r\n\r\n")
    )
    brotli = await raw_request(
        port, post(execute, key, b"Content-Encoding: br\r\nContent-Length: 2\r\n", b"{}")
    )
    for r in (gzip, bad_chunk, brotli):
        assert r.status == 400, (r.status, r.body)
        assert_error(r.json(), "invalid_request")


async def test_a_key_that_is_not_ascii_is_unauthorized_not_a_crash(shared_server: SharedServer) -> None:
    request = b"GET /api/v1/workflows HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \xff\xfe\r\n"
    r = await raw_request(port_of(shared_server), request + b"Connection: close\r\n\r\n")
    assert r.status == 401, (r.status, r.body)
    assert_error(r.json(), "unauthorized")


async def test_an_unknown_expectation_is_refused_in_the_envelope(shared_server: SharedServer) -> None:
    key = shared_server.new_key()
    r = await raw_request(
        port_of(shared_server),
        post("/api/v1/workflows", key, b"Expect: bogus\r\nContent-Length: 2\r\nConnection: close\r\n", b"{}"),
    )
    assert r.status == 417, (r.status, r.body)
    error = assert_error(r.json(), "invalid_request")
    assert "bogus" in error["message"]
    assert "100-continue" in error["message"]


async def test_a_wrong_method_says_which_are_allowed(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        r = await http.patch("/api/v1/workflows")
        error = assert_error(await r.json(), "method_not_allowed")
    assert r.status == 405
    assert set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert error["details"] == {"allowed": ["GET", "HEAD", "POST"]}


async def test_a_client_dropping_an_upload_mid_body_costs_one_log_line(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate()
    _, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    half = b'{"name": "' + b"x" * 1000
    writer.write(post("/api/v1/workflows", API_KEY, b"Content-Length: 100000\r\n", half))
    await writer.drain()
    await asyncio.sleep(0.3)  # the handler is reading the body now
    writer.close()
    await writer.wait_closed()
    async with gw.client() as http:  # the server is fine and has logged by the time it answers again
        for _ in range(50):
            if "went away" in gw.logs():
                break
            await asyncio.sleep(0.05)
        assert (await http.get("/healthz")).status == 200
    logs = gw.logs()
    assert "Traceback" not in logs, logs
    assert logs.count("went away mid-request") == 1, logs
