"""The configured MCP servers, by name: what the gateway registers as the ``mcp_servers``
service (`engine.workflow.nodes.tools.servers.McpServers`). A reload of ``mcp_servers`` (or
of ``http``, the guard's policy) makes a new pool; the old one closes once its calls end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from config.mcp import McpServerSettings
from config.outbound import HttpSettings
from engine.errors import ExecutionFailed
from engine.mcp.connection import Connection
from engine.net.guard import Policy
from engine.workflow.nodes.model import ToolSpec

#: How long a retired pool waits for its running calls before closing anyway.
RETIRE_GRACE_S = 60.0


class McpPool:
    def __init__(self, servers: Mapping[str, McpServerSettings], http: HttpSettings) -> None:
        policy = Policy.from_settings(http)
        self.connections = {name: Connection(name, s, policy) for name, s in servers.items()}
        self._calls = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def _get(self, server: str) -> Connection:
        found = self.connections.get(server)
        if found is None:
            known = ", ".join(sorted(self.connections)) or "none"
            raise ExecutionFailed(
                f"no MCP server '{server}' is configured (mcp_servers has: {known})", {"mcp": server}
            )
        return found

    async def tools(self, server: str) -> Sequence[ToolSpec]:
        return await self._get(server).tools()

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> str:
        connection = self._get(server)
        self._calls += 1
        self._idle.clear()
        try:
            return await connection.call(tool, arguments)
        finally:
            self._calls -= 1
            if not self._calls:
                self._idle.set()

    async def aclose(self, grace_s: float = 0.0) -> None:
        """Stop every server; with ``grace_s``, after the calls still running (at most that long)."""
        if grace_s:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), grace_s)
        await asyncio.gather(*(c.aclose() for c in self.connections.values()))
