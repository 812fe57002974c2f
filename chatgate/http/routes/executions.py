"""``/api/v1/executions/{id}`` and ``/api/v1/sessions/{id}``."""

from __future__ import annotations

from aiohttp import web

from chatgate.http import schemas, serializers
from chatgate.http.bodies import respond
from chatgate.http.context import gateway, principal
from chatgate.http.operations import Operations, Reply
from engine.errors import NotFound
from engine.session_ids import public_session_id, stored_session_id

routes = Operations()


@routes.operation(
    "GET",
    "/api/v1/executions/{execution_id}",
    operation_id="getExecution",
    tag="executions",
    summary="An execution with its inputs and every node's outputs",
    replies=(Reply(200, "the execution", schemas.Execution),),
    errors=(schemas.NotFoundError,),
)
async def get_execution(request: web.Request) -> web.Response:
    execution_id = request.match_info["execution_id"]
    owner = principal(request).name
    record = await gateway(request).executor.get(execution_id)
    if record is None or record.owner != owner:
        raise NotFound(f"execution '{execution_id}' not found", {"execution_id": execution_id})
    body = serializers.execution_detail(record)
    body["session_id"] = public_session_id(owner, body["session_id"])
    return respond(schemas.Execution, body)


@routes.operation(
    "DELETE",
    "/api/v1/sessions/{session_id}",
    operation_id="resetSession",
    tag="sessions",
    summary="Forget a conversation's history and session variables; the next execution starts fresh",
    replies=(Reply(200, "forgotten", schemas.SessionReset),),
)
async def reset_session(request: web.Request) -> web.Response:
    session_id = request.match_info["session_id"]
    full = stored_session_id(principal(request).name, session_id)
    assert full is not None
    removed = await gateway(request).sessions.reset(full)
    return respond(
        schemas.SessionReset, {"session_id": session_id, "status": "reset", "messages_removed": removed}
    )
