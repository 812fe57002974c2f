"""``/healthz``: liveness plus what an operator needs at a glance (no secrets)."""

from __future__ import annotations

from aiohttp import web

from chatgate.http.context import gateway
from chatgate.http.errors import json_response

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response(gateway(request).health())
