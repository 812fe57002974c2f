"""Fetching a file's URL goes through the http node's SSRF guard and never reads more than
the limit allows. Only loopback: 127.0.0.2 is "another host" the admin opted in, 127.0.0.3 one
it did not."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from config.outbound import HttpSettings
from engine.errors import DestinationNotAllowed, ExecutionFailed, FileTooLarge
from engine.net.client import OutboundHttp
from tests.support.net import free_port


class Site:
    def __init__(self, host: str) -> None:
        self.host, self.port = host, free_port()
        self.sent = 0  # bytes of body written before the client stopped reading
        self.hits: list[str] = []

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    s = Site("127.0.0.2")

    async def report(request: web.Request) -> web.Response:
        s.hits.append(request.path)
        return web.Response(
            body=b"%PDF-1.7 report",
            content_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="q3 report.pdf"'},
        )

    async def endless(request: web.Request) -> web.StreamResponse:
        s.hits.append(request.path)
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            for _ in range(50_000):
                await response.write(b"x" * 1024)
                s.sent += 1024
        except ConnectionResetError:
            pass
        return response

    async def declared(request: web.Request) -> web.Response:
        s.hits.append(request.path)
        return web.Response(body=b"y" * 5000)

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/report", report)
    app.router.add_get("/endless", endless)
    app.router.add_get("/declared", declared)
    app.router.add_get("/missing", missing)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, s.host, s.port).start()
    yield s
    await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[OutboundHttp]:
    c = OutboundHttp(HttpSettings(allow_networks=("127.0.0.2/32",)))
    yield c
    await c.close()


async def test_a_file_comes_with_its_type_and_name(client: OutboundHttp, site: Site) -> None:
    got = await client.download(site.url("/report"), max_bytes=1000, timeout_s=5)
    assert (got.body, got.mime_type, got.name) == (b"%PDF-1.7 report", "application/pdf", "q3 report.pdf")


async def test_an_endless_body_is_cut_at_the_limit(client: OutboundHttp, site: Site) -> None:
    with pytest.raises(FileTooLarge, match="at most 4 KiB"):
        await client.download(site.url("/endless"), max_bytes=4096, timeout_s=5)
    assert site.sent < 50_000 * 1024  # the rest was never read


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    client: OutboundHttp, site: Site
) -> None:
    with pytest.raises(FileTooLarge):
        await client.download(site.url("/declared"), max_bytes=4096, timeout_s=5)


async def test_a_missing_file_says_the_status(client: OutboundHttp, site: Site) -> None:
    with pytest.raises(ExecutionFailed, match="HTTP 404"):
        await client.download(site.url("/missing"), max_bytes=4096, timeout_s=5)


async def test_a_host_the_admin_did_not_opt_in_is_refused_unasked(client: OutboundHttp) -> None:
    with pytest.raises(DestinationNotAllowed, match="loopback"):
        await client.download(f"http://127.0.0.3:{free_port()}/x", max_bytes=4096, timeout_s=5)
