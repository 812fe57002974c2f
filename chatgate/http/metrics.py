"""``GET /metrics``: Prometheus text format, no key needed (like /healthz; no secrets)."""

from __future__ import annotations

from aiohttp import web

from chatgate.http.context import gateway
from chatgate.metrics import CONTENT_TYPE

routes = web.RouteTableDef()


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body = gateway(request).metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
