"""``/api/v1/workflows``: create, read, list, update, delete and execute."""

from __future__ import annotations

from aiohttp import web

from chatgate.http import schemas, serializers
from chatgate.http.bodies import parse_body, parse_query, read_json, respond
from chatgate.http.context import gateway, principal
from chatgate.http.errors import json_response
from chatgate.http.file_inputs import body_limit, with_stored_files
from chatgate.http.operations import Operations, Reply
from chatgate.http.schemas import ExecuteRequest
from chatgate.http.sse import stream_execution
from engine.run.runner import Caller
from engine.session_ids import stored_session_id
from engine.workflow.document import WorkflowSpec

routes = Operations()
_WF = (schemas.InvalidRequestError, schemas.InvalidWorkflowError)


@routes.operation(
    "POST",
    "/api/v1/workflows",
    operation_id="createWorkflow",
    tag="workflows",
    summary="Create a workflow",
    description="Validated whole: a bad document is a 400 `invalid_workflow` naming the node.",
    body=WorkflowSpec,
    examples=(("seed", schemas.WORKFLOW_EXAMPLE),),
    replies=(Reply(201, "created", schemas.WorkflowCreated),),
    errors=_WF,
)
async def create(request: web.Request) -> web.Response:
    wf = await gateway(request).catalog.create(await read_json(request), principal(request).name)
    return respond(schemas.WorkflowCreated, serializers.workflow_created(wf), status=201)


@routes.operation(
    "GET",
    "/api/v1/workflows",
    operation_id="listWorkflows",
    tag="workflows",
    summary="List workflows: the file-loaded ones, then your own",
    query=schemas.ListQuery,
    replies=(Reply(200, "a page of workflows", schemas.WorkflowList),),
    errors=(schemas.InvalidRequestError,),
)
async def list_(request: web.Request) -> web.Response:
    query = parse_query(request, schemas.ListQuery)
    page, size = query.page, query.page_size
    items, total = await gateway(request).catalog.list(principal(request).name, page=page, page_size=size)
    return respond(
        schemas.WorkflowList,
        {
            "workflows": [serializers.workflow_summary(w) for w in items],
            "page": page,
            "page_size": size,
            "total": total,
            "has_more": page * size < total,
        },
    )


@routes.operation(
    "GET",
    "/api/v1/workflows/{workflow_id}",
    operation_id="getWorkflow",
    tag="workflows",
    summary="Get a workflow, as submitted",
    replies=(Reply(200, "the workflow", schemas.Workflow),),
    errors=(schemas.NotFoundError,),
)
async def get(request: web.Request) -> web.Response:
    wf = await gateway(request).catalog.get(request.match_info["workflow_id"], principal(request).name)
    return respond(schemas.Workflow, serializers.workflow(wf))


@routes.operation(
    "PUT",
    "/api/v1/workflows/{workflow_id}",
    operation_id="replaceWorkflow",
    tag="workflows",
    summary="Replace a workflow (bumps updated_at)",
    body=WorkflowSpec,
    examples=(("seed", schemas.WORKFLOW_EXAMPLE),),
    replies=(Reply(200, "replaced", schemas.Workflow),),
    errors=(*_WF, schemas.ForbiddenError, schemas.NotFoundError),
)
async def update(request: web.Request) -> web.Response:
    data = await read_json(request)
    ref = request.match_info["workflow_id"]
    wf = await gateway(request).catalog.update(ref, data, principal(request).name)
    return respond(schemas.Workflow, serializers.workflow(wf))


@routes.operation(
    "DELETE",
    "/api/v1/workflows/{workflow_id}",
    operation_id="deleteWorkflow",
    tag="workflows",
    summary="Delete a workflow",
    replies=(Reply(204, "deleted"),),
    errors=(schemas.ForbiddenError, schemas.NotFoundError),
)
async def delete(request: web.Request) -> web.Response:
    await gateway(request).catalog.delete(request.match_info["workflow_id"], principal(request).name)
    return web.Response(status=204)


@routes.operation(
    "POST",
    "/api/v1/workflows/{workflow_id}/execute",
    operation_id="executeWorkflow",
    tag="executions",
    summary="Execute a workflow: JSON, or Server-Sent Events with stream=true",
    description="Inputs are checked before anything runs (400 naming the input). A failed execution "
    "is recorded: its error carries `execution_id` and `status: failed`.\n\n"
    "A `question` node makes the execution wait: `status: waiting` and `question` `{text, options}`; "
    "an execute on the same `session_id` answers it with the start node's text input.\n\n"
    "A `file` input takes `{name, mime_type, data}` (base64; the body may then be larger by one "
    "file of `files.max_bytes`) or `{url}` (fetched through the `http` node's SSRF guard: a refused "
    "address is a 400 `destination_not_allowed`); a file over `files.max_bytes` or past "
    "`files.quota_bytes` is a 413.\n\n"
    "`result` has `content`; an `end` node's outputs by name beside it; and `messages`, what "
    "`message` nodes said, in order (only when some ran).\n\n"
    "With `stream: true` the answer is Server-Sent Events, each `data` one line of JSON:\n"
    "- `node_started` `{node_id, type}`\n"
    "- `message_delta` `{node_id, content}`: a chunk of a model's answer\n"
    "- `message` `{node_id, text}` (and `attachments`, the files it sent): a `message` node's text, "
    "said at once\n"
    "- `node_finished` `{node_id, type, status, duration_ms, attempts}` "
    "(status `completed`, or `continued`: it failed and its `on_error` let the run go on)\n"
    "- `node_skipped` `{node_id, type}`: no live connection reached it\n"
    "- `tool_call` `{node_id, call_id, name, arguments}`: a `response` node's model asks for a tool\n"
    "- `tool_result` `{node_id, call_id, name, result}` or `{…, error}`: what the model was given\n"
    "- `question` `{node_id, text, options}`: a `question` node asks; the execution then waits "
    "(`status: waiting`, answered with `POST /api/v1/executions/{id}/resume`)\n"
    "- last, `execution_finished` (the execution, as without streaming) or `error` (the envelope).",
    body=ExecuteRequest,
    replies=(
        Reply(
            200,
            "the finished execution",
            schemas.ExecutionResult,
            media={
                "text/event-stream": "with stream=true: events node_started, message_delta, message, "
                "node_finished, node_skipped, tool_call, tool_result, then execution_finished (the execution)"
                " or error (the envelope)"
            },
        ),
    ),
    errors=(
        schemas.InvalidRequestError,
        schemas.NotFoundError,
        schemas.ExecutionFailedError,
        schemas.DestinationNotAllowedError,
        schemas.CodeFailedError,
    ),
)
async def execute(request: web.Request) -> web.StreamResponse:
    gw = gateway(request)
    who = principal(request)
    wf = await gw.catalog.get(request.match_info["workflow_id"], who.name)
    # (the workflow first: one that takes files takes a larger body, their base64 in it)
    body = await parse_body(request, ExecuteRequest, body_limit(gw, wf.compiled))
    who.check_run(wf.workflow_id, wf.name)  # a key scoped to some workflows: 403 for the others
    gw.catalog.runnable(wf)  # 403 if a secret it sends was taken from its owner
    session_id = stored_session_id(who.name, body.session_id)
    inputs = await with_stored_files(gw, wf.compiled, body.inputs, who.name, session_id)
    # {{sys.user_id}} and {{sys.user_name}} of an API call: the key's name (never the key).
    caller = Caller("api", who.name, who.name, None)
    if not body.stream:
        record = await gw.executor.execute(
            wf.workflow_id, wf.compiled, inputs, owner=who.name, session_id=session_id, caller=caller
        )
        # The hot path: the record's dict as is (tests validate it against ExecutionResult).
        return json_response(serializers.execution(record))
    # Inputs are checked before the stream opens, so a bad call still gets a plain 400.
    wf.compiled.coerce_inputs(inputs)
    return await stream_execution(request, gw.executor, wf, inputs, who.name, session_id, caller)
