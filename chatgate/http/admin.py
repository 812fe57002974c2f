"""The admin API: ``POST /api/v1/admin/reload`` (what ``chatgate reload`` calls).

Admin keys are the API keys named in ``admins`` as ``key:<name>``, plus the
generated key of an install without ``api_keys``. A rejected edit answers 422
``invalid_config`` naming file, line and key; the old config keeps running.
"""

from __future__ import annotations

from aiohttp import web

from chatgate.http.context import gateway, principal
from chatgate.http.errors import json_response
from engine.errors import ChatgateError, Forbidden

routes = web.RouteTableDef()


@routes.post("/api/v1/admin/reload")
async def reload(request: web.Request) -> web.Response:
    gw = gateway(request)
    who = principal(request)
    if not gw.bots.services.policy.is_admin_key(who.name):
        raise Forbidden(
            f"API key '{who.name}' may not use the admin API",
            f'list it in the config as admins: ["key:{who.name}"]',
        )
    if gw.reloader is None:
        raise ChatgateError("live reload is not running in this process", None)
    report = await gw.reloader.reload(f"api (key {who.name})")
    body = report.to_api()
    if report.result == "rejected":
        error = {"code": "invalid_config", "message": str(report.error), "details": body}
        return json_response({"error": error}, status=422)
    return json_response(body)
