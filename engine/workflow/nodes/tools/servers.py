"""What the ``response`` node asks of MCP servers; engine/mcp/ is the real one, registered by
the gateway under `MCP_SERVERS`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from engine.workflow.nodes.base import ServiceKey
from engine.workflow.nodes.model import ToolSpec


class McpServers(Protocol):
    async def tools(self, server: str) -> Sequence[ToolSpec]:
        """The tools ``server`` offers; `engine.errors.ExecutionFailed` (or a subclass, such as a
        refused destination) when it is not configured or cannot be reached."""
        ...

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> str:
        """The tool's answer as text; `engine.errors.ExecutionFailed` with what the model
        should hear when the tool or the server failed. The caller bounds the time."""
        ...


MCP_SERVERS: ServiceKey[McpServers] = ServiceKey("mcp_servers")
