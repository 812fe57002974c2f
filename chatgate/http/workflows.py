"""``/api/v1/workflows``: create, read, list, update, delete and execute."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from chatgate.http.context import QUOTA, gateway, principal, rate_headers, read_json
from chatgate.http.errors import json_response, unexpected
from engine.catalog import StoredWorkflow
from engine.clock import iso
from engine.errors import ChatgateError, InvalidRequest, parse_request
from engine.events import Event, MessageDelta, NodeFinished, NodeStarted
from engine.executor import ExecutionRecord, Executor
from engine.storage import api_session_prefix

routes = web.RouteTableDef()


class ExecuteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: dict[str, Any] = {}
    session_id: str | None = Field(None, min_length=1, max_length=256, strict=True)
    stream: bool = Field(False, strict=True)  # "yes" or 1 is a mistake to report, not a truthy guess


def api_session(owner: str, session_id: str | None) -> str | None:
    # Namespaced by key, so two API users choosing the same session_id never share history
    # (key names have no ':', which keeps the mapping one-to-one).
    return None if session_id is None else api_session_prefix(owner) + session_id


@routes.post("/api/v1/workflows")
async def create(request: web.Request) -> web.Response:
    wf = await gateway(request).catalog.create(await read_json(request), principal(request).name)
    return json_response(
        {"workflow_id": wf.workflow_id, "status": "created", "created_at": iso(wf.created_at)}, status=201
    )


@routes.get("/api/v1/workflows")
async def list_(request: web.Request) -> web.Response:
    page = _int_query(request, "page", 1, 1, 1_000_000)
    size = _int_query(request, "page_size", 20, 1, 100)
    items, total = await gateway(request).catalog.list(principal(request).name, page=page, page_size=size)
    summaries = []
    for w in items:
        body = w.to_api()
        del body["nodes"], body["connections"]
        summaries.append(body)
    return json_response(
        {
            "workflows": summaries,
            "page": page,
            "page_size": size,
            "total": total,
            "has_more": page * size < total,
        }
    )


@routes.get("/api/v1/workflows/{ref}")
async def get(request: web.Request) -> web.Response:
    wf = await gateway(request).catalog.get(request.match_info["ref"], principal(request).name)
    return json_response(wf.to_api())


@routes.put("/api/v1/workflows/{ref}")
async def update(request: web.Request) -> web.Response:
    data = await read_json(request)
    wf = await gateway(request).catalog.update(request.match_info["ref"], data, principal(request).name)
    return json_response(wf.to_api())


@routes.delete("/api/v1/workflows/{ref}")
async def delete(request: web.Request) -> web.Response:
    await gateway(request).catalog.delete(request.match_info["ref"], principal(request).name)
    return web.Response(status=204)


@routes.post("/api/v1/workflows/{ref}/execute")
async def execute(request: web.Request) -> web.StreamResponse:
    gw = gateway(request)
    who = principal(request)
    body = parse_request(ExecuteRequest, await read_json(request))
    wf = await gw.catalog.get(request.match_info["ref"], who.name)
    who.check_run(wf.workflow_id, wf.name)  # a key scoped to some workflows: 403 for the others
    session_id = api_session(who.name, body.session_id)
    if not body.stream:
        record = await gw.executor.execute(
            wf.workflow_id, wf.compiled, body.inputs, owner=who.name, session_id=session_id
        )
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


def _int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(f"query parameter '{name}' must be an integer", {"field": name}) from None
    if not low <= value <= high:
        raise InvalidRequest(f"query parameter '{name}' must be between {low} and {high}", {"field": name})
    return value
