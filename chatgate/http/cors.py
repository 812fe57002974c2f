"""CORS for browsers on other origins: only the exact origins in ``server.cors_origins``
(empty: none). Preflights are answered here, before any key is asked for; the headers of
real answers are added as each response is prepared, so streams and errors get them too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from chatgate.http.context import GATEWAY
from chatgate.http.errors import error_response
from engine.errors import Forbidden

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ALLOW_METHODS = "GET, POST, PUT, DELETE"
ALLOW_HEADERS = "Authorization, Content-Type"
EXPOSE_HEADERS = "X-Rate-Limit-Remaining, X-Rate-Limit-Reset, Retry-After, WWW-Authenticate"
MAX_AGE_S = "600"


def _origins(request: web.Request) -> tuple[str, ...]:
    return request.app[GATEWAY].settings.server.cors_origins


@web.middleware
async def preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``OPTIONS`` with ``Access-Control-Request-Method``: answered without a key."""
    origin = request.headers.get("Origin")
    if (
        request.method != "OPTIONS"
        or origin is None
        or "Access-Control-Request-Method" not in request.headers
    ):
        return await handler(request)
    if origin not in _origins(request):
        return error_response(
            Forbidden(
                f"origin '{origin}' may not call this API from a browser",
                {"hint": "list it in the config's server.cors_origins"},
            )
        )
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": MAX_AGE_S,
        },
    )


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the allowed origin on every answer to it, and ``Vary: Origin``
    wherever CORS is on (the same URL answers differently per origin)."""
    origins = _origins(request)
    if not origins:
        return
    response.headers.add("Vary", "Origin")
    origin = request.headers.get("Origin")
    if origin is not None and origin in origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
