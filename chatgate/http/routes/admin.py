"""The admin API: ``POST /api/v1/admin/reload`` (what ``chatgate reload`` calls).

Admin keys are the API keys named in ``admins`` as ``key:<name>``, keys made with
``--admin``, and the generated key of ``data/admin_key``. A rejected edit answers 422
``invalid_config`` naming file, line and key; the old config keeps running.
"""

from __future__ import annotations

from aiohttp import web

from chatgate.http import schemas, serializers
from chatgate.http.bodies import respond
from chatgate.http.context import principal, reloader
from chatgate.http.errors import json_response
from chatgate.http.operations import Operations, Reply
from chatgate.keys import Principal
from engine.errors import ChatgateError, Forbidden

routes = Operations()


def require_admin(request: web.Request) -> Principal:
    """The caller, if it holds an admin key; else 403."""
    who = principal(request)
    if not who.admin:
        raise Forbidden(
            f"API key '{who.name}' may not use the admin API",
            {"hint": f'list it in the config as admins: ["key:{who.name}"], or use a key made with --admin'},
        )
    return who


@routes.operation(
    "POST",
    "/api/v1/admin/reload",
    operation_id="reloadConfig",
    tag="admin",
    summary="Reload the config file and workflow files now (admin keys only)",
    replies=(Reply(200, "applied, unchanged or busy: the version and what changed", schemas.ReloadReport),),
    errors=(schemas.ForbiddenError, schemas.InvalidConfigError),
)
async def reload(request: web.Request) -> web.Response:
    live = reloader(request)
    who = require_admin(request)
    if live is None:
        raise ChatgateError("live reload is not running in this process", None)
    report = await live.reload(f"api (key {who.name})")
    body = serializers.reload_report(report)
    if report.result == "rejected":
        error = {"code": "invalid_config", "message": str(report.error), "details": body}
        schemas.InvalidConfigError.model_validate(error)  # the documented shape
        return json_response({"error": error}, status=422)
    return respond(schemas.ReloadReport, body)
