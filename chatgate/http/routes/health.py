"""``/healthz``: liveness plus what an operator needs at a glance (no secrets)."""

from __future__ import annotations

from aiohttp import web

from chatgate.http import schemas, serializers
from chatgate.http.bodies import respond
from chatgate.http.context import gateway, reloader
from chatgate.http.operations import Operations, Reply

routes = Operations()


@routes.operation(
    "GET",
    "/healthz",
    operation_id="health",
    tag="operations",
    summary="Health: bots, executions in flight, config version and last reload error (no key)",
    public=True,
    replies=(Reply(200, "the state", schemas.Health),),
)
async def healthz(request: web.Request) -> web.Response:
    live = reloader(request)
    return respond(schemas.Health, serializers.health(gateway(request), live.fanout if live else None))
