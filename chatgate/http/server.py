"""aiohttp's HTTP server with the limits it lacks, and its own refusals in our envelope.

aiohttp closes idle keep-alive connections (``keepalive_timeout``) but has no time limit
for the headers or the body of a request, and no cap on connections: a client sending
nothing, trickling header bytes or never finishing a chunked body kept its connection (and
a file descriptor) forever. `Connection` (aiohttp's ``RequestHandler``) adds a header and a
body deadline, and refuses connections past the cap before they cost more than a moment.
Its ``handle_error`` is where aiohttp answers what never reaches a handler (a malformed
request line or header, an unknown method, a bad ``Content-Encoding``): answered here in the
envelope, logged in one line. `Runner` is aiohttp's ``AppRunner`` building this server.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import orjson
from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from chatgate.http.errors import (
    RequestTimeout,
    error_response,
    first_line,
    from_http_exception,
    protocol_error,
)
from config.schema import ServerSettings
from engine.errors import ChatgateError, Unavailable

log = logging.getLogger("chatgate.http")

# Descriptors kept free beside the API's connections when the cap is derived: the model
# client's pool (llm.max_connections) plus the database, the bots, logs and watched files.
_OTHER_DESCRIPTORS = 256


@dataclass(frozen=True)
class Limits:
    header_timeout_s: float
    body_timeout_s: float
    keepalive_timeout_s: float
    max_connections: int
    max_body_bytes: int

    @classmethod
    def of(cls, server: ServerSettings, llm_connections: int) -> Limits:
        return cls(
            server.header_timeout_s,
            server.body_timeout_s,
            server.keepalive_timeout_s,
            server.max_connections or derived_connection_cap(llm_connections),
            server.max_body_bytes,
        )


def derived_connection_cap(llm_connections: int) -> int:
    """Below the open-files limit, leaving room for every other descriptor the process holds."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return max(soft // 2, soft - llm_connections - _OTHER_DESCRIPTORS)


class _Gate:
    """Open connections against the cap; one log line when it is reached, one when it eases."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.open = 0
        self.refusing = False

    def admit(self) -> bool:
        if self.open < self.cap:
            self.open += 1
            return True
        if not self.refusing:
            self.refusing = True
            log.warning(
                "connection cap reached: %d connections open (server.max_connections); refusing new "
                "ones with 503 until some close",
                self.cap,
            )
        return False

    def release(self) -> None:
        self.open -= 1
        # Eased only well below the cap, so a crowd at the limit is one episode, not a line each.
        if self.refusing and self.open < self.cap - max(1, self.cap // 10):
            self.refusing = False
            log.info("accepting connections again: %d open", self.open)


def _raw_response(status: int, reason: str, error: ChatgateError) -> bytes:
    """A whole response written straight to the transport, for when no request object exists."""
    body = orjson.dumps(error.envelope())
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class Connection(RequestHandler):
    def __init__(self, manager: Server, *, limits: Limits, gate: _Gate, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._limits = limits
        self._gate = gate
        self._admitted = False
        self._in_request = False  # from the request's hand-over to the end of its response
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._timed_out = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._gate.admit():
            refusal = Unavailable("too many connections; retry shortly", {"max_connections": self._gate.cap})
            cast(asyncio.Transport, transport).write(  # uvloop's transports are not asyncio's classes
                _raw_response(503, "Service Unavailable", refusal)
            )
            transport.close()
            return
        self._admitted = True
        super().connection_made(transport)
        self._arm_header_timer()  # a client that connects and sends nothing

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self._admitted:
            return
        self._admitted = False
        self._gate.release()
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        if not self._in_request and self._header_timer is None:
            self._arm_header_timer()  # the first bytes of the next request on this connection
        super().data_received(data)

    def request_started(self, payload: StreamReader) -> None:
        """Its headers are all here (called as aiohttp makes the request object)."""
        self._in_request = True
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if not payload.is_eof():
            self._body_timer = self._loop.call_later(self._limits.body_timeout_s, self._body_late, payload)

    def log_access(self, request: BaseRequest, response: web.StreamResponse, time: float | None) -> None:
        # aiohttp calls this once each response is written (or the client left): the request is over.
        self._in_request = False
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().log_access(request, response, time)

    def _arm_header_timer(self) -> None:
        self._header_timer = self._loop.call_later(self._limits.header_timeout_s, self._headers_late)

    def _cancel_timers(self) -> None:
        for timer in (self._header_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self._in_request or self.transport is None:
            return
        log.info(
            "closed a connection from %s: no complete request headers within %gs (server.header_timeout_s)",
            self._peer(),
            self._limits.header_timeout_s,
        )
        error = RequestTimeout(
            f"the request headers did not arrive within {self._limits.header_timeout_s:g}s",
            {"timeout_s": self._limits.header_timeout_s},
        )
        self.transport.write(_raw_response(408, "Request Timeout", error))
        self.force_close()

    def _body_late(self, payload: StreamReader) -> None:
        self._body_timer = None
        if payload.is_eof() or self.transport is None:
            return
        log.info(
            "closed a connection from %s: request body not received within %gs (server.body_timeout_s)",
            self._peer(),
            self._limits.body_timeout_s,
        )
        self._timed_out = True  # the handler then fails reading the body: nothing more to log
        self.force_close()

    def _peer(self) -> str:
        peer = self.transport.get_extra_info("peername") if self.transport is not None else None
        return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "a client"

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's answer to a request it could not parse, or to an error no middleware caught."""
        if isinstance(exc, ConnectionError):
            if not self._timed_out:
                log.info("client %s went away mid-request (%s)", request.remote, type(exc).__name__)
        elif status >= 500:
            log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
        else:
            log.info("refused a malformed request from %s: %s", request.remote, first_line(message or exc))
        if request.writer.output_size > 0:  # as aiohttp: part of a response went out already
            raise ConnectionError("a response was already started; cannot send the error")
        response = error_response(protocol_error(status, exc, message))
        response.force_close()
        return response


_Factory = Callable[
    [RawRequestMessage, StreamReader, RequestHandler, AbstractStreamWriter, "asyncio.Task[None]"], BaseRequest
]


class Server(web.Server):
    """aiohttp's low-level server making `Connection`s."""

    def __init__(
        self,
        handler: Callable[[BaseRequest], Awaitable[web.StreamResponse]],
        *,
        request_factory: _Factory,
        limits: Limits,
        **kwargs: Any,
    ) -> None:
        async def handle(request: BaseRequest) -> web.StreamResponse:
            # What aiohttp refuses before the middlewares run (an Expect it does not know).
            try:
                return await handler(request)
            except web.HTTPException as e:
                if e.status < 400:
                    raise
                return from_http_exception(e, limits.max_body_bytes)

        def make_request(
            message: RawRequestMessage,
            payload: StreamReader,
            protocol: RequestHandler,
            writer: AbstractStreamWriter,
            task: asyncio.Task[None],
        ) -> BaseRequest:
            if isinstance(protocol, Connection):
                protocol.request_started(payload)
            return request_factory(message, payload, protocol, writer, task)

        super().__init__(handle, request_factory=make_request)
        self._limits = limits
        self._gate = _Gate(limits.max_connections)
        self._handler_kwargs = {"keepalive_timeout": limits.keepalive_timeout_s, **kwargs}

    def __call__(self) -> Connection:
        return Connection(
            self,
            loop=asyncio.get_running_loop(),
            limits=self._limits,
            gate=self._gate,
            **self._handler_kwargs,
        )


class Runner(web.AppRunner):
    """aiohttp's AppRunner serving through `Server` (``_make_server`` is the runners' own hook)."""

    def __init__(self, app: web.Application, limits: Limits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._limits = limits
        runner_only = ("handle_signals", "shutdown_timeout")
        self._handler_kwargs = {k: v for k, v in kwargs.items() if k not in runner_only}

    async def _make_server(self) -> web.Server:
        app_server = await super()._make_server()  # runs the app's startup and freezes it
        return Server(
            app_server.request_handler,
            request_factory=app_server.request_factory,
            limits=self._limits,
            **self._handler_kwargs,
        )
