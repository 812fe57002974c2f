"""``/api/v1/executions/{id}`` and ``/api/v1/sessions/{id}``."""

from __future__ import annotations

from aiohttp import web

from chatgate.http import schemas, serializers
from chatgate.http.bodies import parse_body, respond
from chatgate.http.context import gateway, principal
from chatgate.http.errors import json_response
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
    "POST",
    "/api/v1/executions/{execution_id}/resume",
    operation_id="resumeExecution",
    tag="executions",
    summary="Answer a waiting execution's question and go on: completed, failed, or waiting again",
    description="`answer` (typed text, matched to an option's id or label, any case) or `option` (an "
    "option's id). An answer that matches nothing asks again (`waiting`) until the question's "
    "`max_attempts`. Once only: an execution that is not waiting (answered already, expired, "
    "cancelled) is a 409 `conflict`; one whose workflow changed while it waited is cancelled (409).",
    body=schemas.ResumeRequest,
    replies=(Reply(200, "the execution, as execute answers", schemas.ExecutionResult),),
    errors=(
        schemas.InvalidRequestError,
        schemas.ForbiddenError,
        schemas.NotFoundError,
        schemas.ConflictError,
        schemas.ExecutionFailedError,
        schemas.DestinationNotAllowedError,
        schemas.CodeFailedError,
    ),
)
async def resume_execution(request: web.Request) -> web.Response:
    gw = gateway(request)
    who = principal(request)
    execution_id = request.match_info["execution_id"]
    body = await parse_body(request, schemas.ResumeRequest)
    waiting = await gw.executor.waitings.get(execution_id)
    workflow = None
    if waiting is not None and waiting.owner == who.name:
        try:
            wf = await gw.catalog.get(waiting.workflow_id, who.name)
        except NotFound:
            wf = None  # deleted while it waited: the executor cancels the execution
        if wf is not None:
            who.check_run(wf.workflow_id, wf.name)
            workflow = gw.catalog.runnable(wf)  # 403 if a secret it sends was taken from its owner
    record = await gw.executor.resume(
        execution_id, workflow, answer=body.answer, option=body.option, owner=who.name
    )
    return json_response(serializers.execution(record))


@routes.operation(
    "DELETE",
    "/api/v1/sessions/{session_id}",
    operation_id="resetSession",
    tag="sessions",
    summary="Forget a conversation's history and session variables, cancel an execution waiting in it; "
    "the next execution starts fresh",
    replies=(Reply(200, "forgotten", schemas.SessionReset),),
)
async def reset_session(request: web.Request) -> web.Response:
    session_id = request.match_info["session_id"]
    full = stored_session_id(principal(request).name, session_id)
    assert full is not None
    await gateway(request).executor.cancel_waiting(full)  # a question waiting in it is void
    removed = await gateway(request).sessions.reset(full)
    return respond(
        schemas.SessionReset, {"session_id": session_id, "status": "reset", "messages_removed": removed}
    )
