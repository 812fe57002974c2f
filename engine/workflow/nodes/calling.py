"""What ``workflow`` and ``iterate`` nodes share: finding the workflow they call, and
running it one level deeper with a failure that names the calling node."""

from __future__ import annotations

from typing import Any, Protocol

from engine.errors import ExecutionFailed, InvalidRequest
from engine.workflow.nodes.base import NodeContext, Outcome, ServiceKey


class WorkflowFinder(Protocol):
    """Finds a workflow by name or id, as the executing key sees them (its own plus the
    file-loaded ones); the gateway's is `engine.catalog.CatalogWorkflows`."""

    async def find(self, ref: str) -> Any:
        """The compiled workflow (`engine.workflow.graph.CompiledWorkflow`: typed loosely,
        since the graph imports the nodes); `ExecutionFailed` when there is none."""
        ...


WORKFLOWS: ServiceKey[WorkflowFinder] = ServiceKey("workflows")


def check_ref(ref: str) -> str:
    """A called workflow is named literally: only a fixed name lets validation resolve it
    and refuse a workflow that calls itself."""
    if "{{" in ref:
        raise ValueError(f"'workflow' names a workflow by name or id; a reference ({ref}) cannot be resolved")
    return ref


async def find(ctx: NodeContext, ref: str) -> Any:
    try:
        return await ctx.service(WORKFLOWS).find(ref)
    except ExecutionFailed as e:
        raise ExecutionFailed(
            f"node '{ctx.node_id}': {e.message}", {"node": ctx.node_id, "workflow": ref}
        ) from e


async def run_called(ctx: NodeContext, workflow: Any, ref: str, inputs: dict[str, Any]) -> Outcome:
    """Run ``workflow`` with ``inputs``; inputs it refuses fail this node (so its
    ``on_error`` applies), not the request."""
    try:
        return await ctx.hooks.run_workflow(workflow, inputs)
    except InvalidRequest as e:
        raise ExecutionFailed(
            f"node '{ctx.node_id}': workflow '{ref}' refused its inputs: {e.message}",
            {"node": ctx.node_id, "workflow": ref, "inputs": e.details},
        ) from None
