"""``GET /metrics``: Prometheus text format, no key needed (like /healthz; no secrets)."""

from __future__ import annotations

from aiohttp import web

from chatgate.http.context import gateway
from chatgate.http.operations import Operations, Reply
from chatgate.metrics import CONTENT_TYPE

routes = Operations()


@routes.operation(
    "GET",
    "/metrics",
    operation_id="metrics",
    tag="operations",
    summary="Prometheus metrics: config version, reloads, executions by status (no key)",
    public=True,
    replies=(Reply(200, "Prometheus text format", media={"text/plain": "version 0.0.4"}),),
)
async def metrics(request: web.Request) -> web.Response:
    body = gateway(request).metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
