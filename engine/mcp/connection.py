"""One configured MCP server: a session kept open by a task of its own, restarted with
backoff when it breaks, and its tools as the model is offered them.

The SDK's transports are async context managers, entered and left in one task: the
supervising task holds them, and calls from executions use the session it made. While the
server is down a call fails at once with the reason (the model is told; the next call
after the restart works)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx2
import mcp_types
import orjson
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from config.mcp import McpServerSettings
from engine.errors import ChatgateError, ExecutionFailed
from engine.mcp.guarded_http import GuardedBackend, guarded_client
from engine.mcp.stderr_log import StderrLog
from engine.net.guard import Policy
from engine.workflow.nodes.model import ToolSpec
from engine.workflow.nodes.tools.items import TOOL_NAME

log = logging.getLogger("chatgate.mcp")

#: Tools one server may offer (a longer list is cut, and the cut is logged).
MAX_TOOLS = 200


class Connection:
    def __init__(self, name: str, settings: McpServerSettings, policy: Policy) -> None:
        self.name, self.settings, self.policy = name, settings, policy
        self._session: ClientSession | None = None
        self._tools: tuple[ToolSpec, ...] = ()
        self._failure: ExecutionFailed | None = None
        self._settled = asyncio.Event()  # the last (re)start ended: a session, or a failure
        self._broken = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.starts = 0  # sessions opened so far
        self._backend: GuardedBackend | None = None  # a url server's: it knows what the guard refused

    # -- what executions ask ------------------------------------------------------

    async def tools(self) -> Sequence[ToolSpec]:
        await self._ready()
        return self._tools

    async def call(self, tool: str, arguments: dict[str, Any]) -> str:
        session = await self._ready()
        try:
            result = await session.call_tool(tool, arguments)
        except MCPError as e:
            if _closed(e):
                self._broke(f"the connection closed during '{tool}'")
                raise ExecutionFailed(f"MCP server '{self.name}' went away during the call") from None
            raise ExecutionFailed(f"MCP server '{self.name}': {e.error.message}") from None
        except Exception as e:  # the transport's own failures, whatever the SDK raises
            self._broke(f"{type(e).__name__} during '{tool}'")
            raise ExecutionFailed(f"MCP server '{self.name}' failed: {type(e).__name__}") from None
        text = _text(result)
        if result.is_error:
            raise ExecutionFailed(text or f"tool '{tool}' failed")
        return text

    async def _ready(self) -> ClientSession:
        if self._task is None:  # started lazily: a configured server no workflow uses never runs
            self._task = asyncio.create_task(self._supervise(), name=f"mcp-{self.name}")
        try:
            async with asyncio.timeout(self.settings.connect_timeout_s * 2):
                await self._settled.wait()
        except TimeoutError:
            raise ExecutionFailed(
                f"MCP server '{self.name}' did not start in time", {"mcp": self.name}
            ) from None
        if self._session is None:
            raise self._failure or ExecutionFailed(f"MCP server '{self.name}' is restarting")
        return self._session

    def _broke(self, why: str) -> None:
        if not self._broken.is_set():
            log.warning("MCP server %s: %s; restarting it", self.name, why)
            self._broken.set()

    # -- supervision --------------------------------------------------------------

    async def _supervise(self) -> None:
        delay = self.settings.backoff_s
        while not self._stopping.is_set():
            opened = False
            try:
                async with self._open() as session:
                    opened, delay = True, self.settings.backoff_s
                    self.starts += 1
                    self._session, self._failure = session, None
                    self._settled.set()
                    try:
                        await self._until_stopped_or_broken()
                    finally:
                        # Callers from now on wait for the restart (or hear why it failed).
                        self._session = None
                        self._settled.clear()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if not opened:
                    self._failure = self._failed(e)
            self._broken.clear()
            if opened or self._stopping.is_set():
                continue  # it ran: start it again at once; a start that fails backs off
            assert self._failure is not None
            log.warning("MCP server %s: %s (next try in %.1fs)", self.name, self._failure.message, delay)
            self._settled.set()  # callers meanwhile hear the failure at once
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()
            delay = min(delay * 2, self.settings.max_backoff_s)
            self._settled.clear()
        self._failure = ExecutionFailed(f"MCP server '{self.name}' is stopped", {"mcp": self.name})
        self._settled.set()

    async def _until_stopped_or_broken(self) -> None:
        stop = asyncio.create_task(self._stopping.wait())
        broken = asyncio.create_task(self._broken.wait())
        try:
            await asyncio.wait((stop, broken), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            broken.cancel()

    def _failed(self, error: BaseException) -> ExecutionFailed:
        while isinstance(error, BaseExceptionGroup) and error.exceptions:
            error = error.exceptions[0]  # the SDK's task groups wrap what went wrong
        if self._backend is not None and self._backend.refused is not None:
            e = self._backend.refused
            return type(e)(f"MCP server '{self.name}': {e.message}", {**e.details, "mcp": self.name})
        if isinstance(error, ChatgateError):
            return ExecutionFailed(f"MCP server '{self.name}': {error.message}", {"mcp": self.name})
        if isinstance(error, TimeoutError):
            why = f"did not answer within {self.settings.connect_timeout_s:g}s"
        elif isinstance(error, MCPError):
            why = error.error.message
        elif isinstance(error, OSError):
            why = f"cannot be started: {error.strerror or error}"
        elif isinstance(error, httpx2.TransportError):
            why = f"cannot be reached: {error}"
        else:
            why = f"cannot be reached ({type(error).__name__})"
        return ExecutionFailed(f"MCP server '{self.name}' {why}", {"mcp": self.name})

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[ClientSession]:
        async with AsyncExitStack() as stack:
            async with asyncio.timeout(self.settings.connect_timeout_s):
                read, write = await stack.enter_async_context(self._transport(stack))
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                listed = await session.list_tools()
            self._tools = self._offered(listed.tools)
            log.info("MCP server %s: connected, %d tool(s)", self.name, len(self._tools))
            yield session

    def _transport(self, stack: AsyncExitStack) -> contextlib.AbstractAsyncContextManager[tuple[Any, Any]]:
        s = self.settings
        if s.url is not None:
            self._backend = GuardedBackend(self.policy)
            headers = {k: v.get_secret_value() for k, v in s.headers.items()}
            return _http(s.url, self._backend, headers)
        assert s.command is not None
        errors = StderrLog(log, self.name)
        stack.push_async_callback(errors.aclose)
        params = StdioServerParameters(
            command=s.command[0],
            args=list(s.command[1:]),
            env={k: v.get_secret_value() for k, v in s.env.items()},
            cwd=s.cwd,
        )
        return _started(stdio_client(params, errlog=errors.file), errors)

    def _offered(self, tools: Sequence[mcp_types.Tool]) -> tuple[ToolSpec, ...]:
        offered = []
        for tool in tools[:MAX_TOOLS]:
            if not TOOL_NAME.match(tool.name):
                log.warning("MCP server %s: tool %r has a name models cannot call", self.name, tool.name)
                continue
            schema = tool.input_schema if isinstance(tool.input_schema, dict) else {"type": "object"}
            offered.append(ToolSpec(tool.name, tool.description or "", dict(schema)))
        if len(tools) > MAX_TOOLS:
            log.warning("MCP server %s: %d tools, the first %d used", self.name, len(tools), MAX_TOOLS)
        return tuple(offered)

    async def aclose(self) -> None:
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 10)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            except Exception:
                log.exception("MCP server %s: stopping failed", self.name)


@asynccontextmanager
async def _http(url: str, backend: GuardedBackend, headers: dict[str, str]) -> AsyncIterator[tuple[Any, Any]]:
    async with (
        guarded_client(backend, headers) as client,
        streamable_http_client(url, http_client=client) as streams,
    ):
        yield streams


@asynccontextmanager
async def _started(
    client: contextlib.AbstractAsyncContextManager[tuple[Any, Any]], errors: StderrLog
) -> AsyncIterator[tuple[Any, Any]]:
    async with client as streams:
        errors.started()  # the child has its copy of the pipe now
        yield streams


def _closed(error: MCPError) -> bool:
    return error.error.code == mcp_types.CONNECTION_CLOSED


def _text(result: mcp_types.CallToolResult) -> str:
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, mcp_types.TextContent):
            parts.append(block.text)
        else:
            parts.append(f"[{block.type}]")
    if not parts and result.structured_content is not None:
        return orjson.dumps(result.structured_content, default=str).decode()
    return "\n".join(parts)
