"""A small HTTP service on a loopback address, for what the ``http`` node calls in tests and
benchmarks: it echoes requests, answers any status, redirects, sends large or slow bodies,
and records every request it got (so a test can prove one never arrived).

Bind it to 127.0.0.2, 127.0.0.3... to have "other hosts" that are all this machine.
"""

from __future__ import annotations

import asyncio
import gzip
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.support.net import free_port


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: str


class HttpService:
    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port if port is not None else free_port()
        self.seen: list[Seen] = []
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    async def __aenter__(self) -> HttpService:
        app = web.Application()
        app.router.add_route("*", "/echo", self._echo)
        app.router.add_get("/status/{code}", self._status)
        app.router.add_route("*", "/redirect", self._redirect)
        app.router.add_get("/chain/{n}", self._chain)
        app.router.add_get("/big", self._big)
        app.router.add_get("/hang", self._hang)
        app.router.add_get("/whoami", self._whoami)
        app.router.add_get("/text", self._text)
        app.router.add_get("/cookie", self._cookie)
        app.middlewares.append(self._record)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.text()
        self.seen.append(
            Seen(
                request.method,
                request.path,
                dict(request.query),
                {k.lower(): v for k, v in request.headers.items()},
                body,
            )
        )
        response: web.StreamResponse = await handler(request)
        return response

    async def _echo(self, request: web.Request) -> web.Response:
        seen = self.seen[-1]
        status = int(request.query.get("status", "200"))
        return web.json_response(
            {
                "method": seen.method,
                "query": seen.query,
                "headers": seen.headers,
                "body": seen.body,
                "content_type": request.content_type,
            },
            status=status,
            headers={"X-Service": "echo"},
        )

    async def _status(self, request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        return web.json_response({"status": code}, status=code)

    async def _redirect(self, request: web.Request) -> web.Response:
        status = int(request.query.get("status", "302"))
        return web.Response(status=status, headers={"Location": request.query["to"]})

    async def _chain(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n == 0:
            return web.json_response({"arrived": True})
        return web.Response(status=302, headers={"Location": f"/chain/{n - 1}"})

    async def _big(self, request: web.Request) -> web.StreamResponse:
        size = int(request.query["bytes"])
        if request.query.get("gzip"):  # small on the wire, ``size`` once decoded
            return web.Response(body=gzip.compress(b"x" * size), headers={"Content-Encoding": "gzip"})
        if request.query.get("chunked"):  # no Content-Length to go by
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            for _ in range(size // 1024):
                await response.write(b"x" * 1024)
            await response.write(b"x" * (size % 1024))
            await response.write_eof()
            return response
        return web.Response(body=b"x" * size)

    async def _hang(self, request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response()

    async def _whoami(self, request: web.Request) -> web.Response:
        return web.json_response({"host": self.host})

    async def _text(self, request: web.Request) -> web.Response:
        return web.Response(text="plain words", headers={"X-Multi": "a"})

    async def _cookie(self, request: web.Request) -> web.Response:
        response = web.json_response({"cookie": request.headers.get("Cookie")})
        response.set_cookie("session", "from-the-service")
        return response
