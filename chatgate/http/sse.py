"""An execution streamed as Server-Sent Events: node_started, message_delta, message,
node_finished, node_skipped, tool_call and tool_result as they happen, then
execution_finished (the execution) or error (the envelope)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from aiohttp import web

from chatgate.http import serializers
from chatgate.http.context import QUOTA, gateway, rate_headers
from chatgate.http.errors import unexpected
from engine.catalog import StoredWorkflow
from engine.errors import ChatgateError
from engine.record import ExecutionRecord
from engine.run.executor import Executor
from engine.run.runner import Caller
from engine.workflow.events import (
    Event,
    MessageDelta,
    MessageSent,
    NodeFinished,
    NodeSkipped,
    NodeStarted,
    QuestionAsked,
    ToolAnswered,
    ToolCalled,
)

PING = b": ping\n\n"  # a comment line: keeps proxies from closing a quiet stream


async def stream_execution(
    request: web.Request,
    executor: Executor,
    wf: StoredWorkflow,
    inputs: dict[str, Any],
    owner: str,
    session_id: str | None,
    caller: Caller | None = None,
) -> web.StreamResponse:
    queue: asyncio.Queue[Event | ExecutionRecord | ChatgateError] = asyncio.Queue()
    ping_every_s = gateway(request).settings.server.stream_ping_s

    async def run() -> None:
        try:
            record = await executor.execute(
                wf.workflow_id,
                wf.compiled,
                inputs,
                owner=owner,
                session_id=session_id,
                sink=queue.put_nowait,
                caller=caller,
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
                await response.write(PING)
                continue
            if isinstance(item, ExecutionRecord):
                await response.write(frame("execution_finished", serializers.execution(item)))
                break
            if isinstance(item, ChatgateError):
                await response.write(frame("error", item.envelope()))
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
        return frame("message_delta", {"content": event.content, "node_id": event.node_id})
    if isinstance(event, MessageSent):
        if event.attachments:
            return frame(
                "message",
                {"text": event.text, "node_id": event.node_id, "attachments": list(event.attachments)},
            )
        return frame("message", {"text": event.text, "node_id": event.node_id})
    if isinstance(event, NodeFinished):
        return frame(
            "node_finished",
            {
                "node_id": event.node_id,
                "type": event.type,
                "status": event.status,
                "duration_ms": round(event.duration_ms, 3),
                "attempts": event.attempts,
            },
        )
    if isinstance(event, ToolCalled):
        return frame(
            "tool_call",
            {
                "node_id": event.node_id,
                "call_id": event.call_id,
                "name": event.name,
                "arguments": event.arguments,
            },
        )
    if isinstance(event, ToolAnswered):
        answer = {"result": event.result} if event.error is None else {"error": event.error}
        return frame(
            "tool_result", {"node_id": event.node_id, "call_id": event.call_id, "name": event.name, **answer}
        )
    if isinstance(event, QuestionAsked):  # the stream then ends with the waiting execution
        return frame("question", {"node_id": event.node_id, **event.question})
    name = "node_started" if isinstance(event, NodeStarted) else "node_skipped"
    assert isinstance(event, (NodeStarted, NodeSkipped))
    return frame(name, {"node_id": event.node_id, "type": event.type})


def frame(name: str, data: Any) -> bytes:
    """One event: its name and its data as one line of JSON."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
