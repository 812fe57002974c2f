"""``/api/v1/workflows``: create, read, list, update, delete and execute."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from aiohttp import web

from chatgate.http import schemas
from chatgate.http.bodies import parse_body, parse_query, read_json, respond
from chatgate.http.context import QUOTA, gateway, principal, rate_headers
from chatgate.http.errors import json_response, unexpected
from chatgate.http.operations import Operations, Reply
from chatgate.http.schemas import ExecuteRequest
from engine.catalog import StoredWorkflow
from engine.clock import iso
from engine.errors import ChatgateError
from engine.run.events import Event, MessageDelta, NodeFinished, NodeStarted
from engine.run.executor import ExecutionRecord, Executor
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
    return respond(
        schemas.WorkflowCreated,
        {"workflow_id": wf.workflow_id, "status": "created", "created_at": iso(wf.created_at)},
        status=201,
    )


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
    summaries = []
    for w in items:
        body = w.to_api()
        del body["nodes"], body["connections"]
        summaries.append(body)
    return respond(
        schemas.WorkflowList,
        {
            "workflows": summaries,
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
    return respond(schemas.Workflow, wf.to_api())


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
    return respond(schemas.Workflow, wf.to_api())


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
    "is recorded: its error carries `execution_id` and `status: failed`.",
    body=ExecuteRequest,
    replies=(
        Reply(
            200,
            "the finished execution",
            schemas.ExecutionResult,
            media={
                "text/event-stream": "with stream=true: events node_started, message_delta, node_finished, "
                "then execution_finished (the execution) or error (the envelope)"
            },
        ),
    ),
    errors=(
        schemas.InvalidRequestError,
        schemas.NotFoundError,
        schemas.ExecutionFailedError,
    ),
)
async def execute(request: web.Request) -> web.StreamResponse:
    gw = gateway(request)
    who = principal(request)
    body = await parse_body(request, ExecuteRequest)
    wf = await gw.catalog.get(request.match_info["workflow_id"], who.name)
    who.check_run(wf.workflow_id, wf.name)  # a key scoped to some workflows: 403 for the others
    session_id = stored_session_id(who.name, body.session_id)
    if not body.stream:
        record = await gw.executor.execute(
            wf.workflow_id, wf.compiled, body.inputs, owner=who.name, session_id=session_id
        )
        # The hot path: the record's dict as is (tests validate it against ExecutionResult).
        return json_response(record.to_api())
    # Inputs are checked before the stream opens, so a bad call still gets a plain 400.
    wf.compiled.coerce_inputs(body.inputs)
    return await _stream(request, gw.executor, wf, body.inputs, who.name, session_id)


async def _stream(
    request: web.Request,
    executor: Executor,
    wf: StoredWorkflow,
    inputs: dict[str, Any],
    owner: str,
    session_id: str | None,
) -> web.StreamResponse:
    queue: asyncio.Queue[Event | ExecutionRecord | ChatgateError] = asyncio.Queue()
    ping_every_s = gateway(request).settings.server.stream_ping_s

    async def run() -> None:
        try:
            record = await executor.execute(
                wf.workflow_id, wf.compiled, inputs, owner=owner, session_id=session_id, sink=queue.put_nowait
            )
            queue.put_nowait(record)
        except ChatgateError as e:
            queue.put_nowait(e)
        except Exception as e:  # anything else must end the stream too, not leave it pinging
            queue.put_nowait(unexpected(e, f"{request.method} {request.path} (streamed)"))

    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            **rate_headers(request.get(QUOTA)),
        }
    )
    await response.prepare(request)
    # The execution runs to the end even if the client goes away: it is recorded either way.
    task = asyncio.create_task(run())
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), ping_every_s)
            except TimeoutError:
                await response.write(b": ping\n\n")
                continue
            if isinstance(item, ExecutionRecord):
                await response.write(_sse("execution_finished", item.to_api()))
                break
            if isinstance(item, ChatgateError):
                await response.write(_sse("error", item.envelope()))
                break
            await response.write(_event(item))
    except (ConnectionResetError, asyncio.CancelledError):
        with contextlib.suppress(Exception):
            await asyncio.shield(task)
        raise
    await task
    await response.write_eof()
    return response


def _event(event: Event) -> bytes:
    if isinstance(event, MessageDelta):
        return _sse("message_delta", {"content": event.content, "node_id": event.node_id})
    name = "node_started" if isinstance(event, NodeStarted) else "node_finished"
    assert isinstance(event, (NodeStarted, NodeFinished))
    return _sse(name, {"node_id": event.node_id, "type": event.type})


def _sse(name: str, data: Any) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
