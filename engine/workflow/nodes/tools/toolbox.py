"""The functions one ``response`` run offers its model, each with what answers a call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from engine.errors import ExecutionFailed
from engine.workflow.nodes.base import NodeContext
from engine.workflow.nodes.calling import find, run_called
from engine.workflow.nodes.model import ToolSpec
from engine.workflow.nodes.tools.items import McpTools, ToolItem, WorkflowTool
from engine.workflow.nodes.tools.parameters import parameters_schema
from engine.workflow.nodes.tools.servers import MCP_SERVERS

#: Answers one call: the arguments (already parsed) in, the text for the model out.
Answer = Callable[[dict[str, Any]], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Tool:
    spec: ToolSpec
    answer: Answer


async def toolbox(ctx: NodeContext, items: Sequence[ToolItem]) -> dict[str, Tool]:
    """The tools by name, looked up for this run (a workflow's inputs or a server's tools may
    have changed since validation). A tool that cannot be offered fails the node: that is
    the author's or admin's to fix, not the model's."""
    tools: dict[str, Tool] = {}
    for item in items:
        offered = await (_workflow(ctx, item) if isinstance(item, WorkflowTool) else _mcp(ctx, item))
        for tool in offered:
            if tool.spec.name in tools:
                raise ExecutionFailed(
                    f"node '{ctx.node_id}': two tools are named '{tool.spec.name}'",
                    {"node": ctx.node_id, "tool": tool.spec.name},
                )
            tools[tool.spec.name] = tool
    return tools


async def _workflow(ctx: NodeContext, item: WorkflowTool) -> list[Tool]:
    called = await find(ctx, item.workflow)
    params = called.start.config.input_params
    description = item.description or called.spec.description or f"the workflow '{called.spec.name}'"

    async def answer(arguments: dict[str, Any]) -> str:
        outcome = await run_called(ctx, called, item.workflow, arguments)
        result = outcome.result
        if set(result) <= {"content"}:
            return str(result.get("content", ""))
        return orjson.dumps(result, default=str).decode()

    try:
        name = item.tool_name(called.spec.name)
    except ValueError as e:
        raise ExecutionFailed(f"node '{ctx.node_id}': {e}", {"node": ctx.node_id}) from None
    return [Tool(ToolSpec(name, description, parameters_schema(params)), answer)]


async def _mcp(ctx: NodeContext, item: McpTools) -> list[Tool]:
    servers = ctx.service(MCP_SERVERS)
    offered = await servers.tools(item.mcp)
    if item.tools is not None:
        names = {s.name for s in offered}
        missing = [t for t in item.tools if t not in names]
        if missing:
            raise ExecutionFailed(
                f"node '{ctx.node_id}': MCP server '{item.mcp}' has no tool '{missing[0]}'",
                {"node": ctx.node_id, "mcp": item.mcp, "missing": missing, "offered": sorted(names)[:50]},
            )
        allowed = set(item.tools)
        offered = [s for s in offered if s.name in allowed]

    def answering(name: str) -> Answer:
        async def answer(arguments: dict[str, Any]) -> str:
            return await servers.call(item.mcp, name, arguments)

        return answer

    return [Tool(spec, answering(spec.name)) for spec in offered]
