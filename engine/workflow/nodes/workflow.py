"""``workflow``: runs another workflow (by name or id) inside this execution.

Its outputs are the called workflow's result: ``content``, plus what that workflow's
``end`` node outputs. Those names belong to the other workflow, so the node's outputs
are *open*: validation lets ``{{node.any_field}}`` through here, and the catalog checks
the names against the called workflow's ``end`` node wherever the name resolves (on
create and update, and among workflow files). At run time a name the called workflow
does not give (it changed since) is null, like any missing key.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from engine.workflow.nodes.base import NodeConfig, NodeContext
from engine.workflow.nodes.calling import check_ref, find, run_called
from engine.workflow.templates import compile_value


class WorkflowConfig(NodeConfig):
    workflow: str = Field(min_length=1, max_length=200)  # a name or an id
    inputs: dict[str, Any] = Field(default_factory=dict)  # each value a literal or holding references


class WorkflowNode:
    type_name: ClassVar[str] = "workflow"
    instant: ClassVar[bool] = False
    config_model: ClassVar[type[NodeConfig]] = WorkflowConfig
    #: Any top-level field may be referenced: the called workflow's ``end`` decides them.
    open_outputs: ClassVar[bool] = True

    def __init__(self, node_id: str, config: WorkflowConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = config.timeout_s
        self.calls = check_ref(config.workflow)
        self._inputs = compile_value(config.inputs)

    def outputs(self) -> frozenset[str]:
        return frozenset({"content"})

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        called = await find(ctx, self.calls)
        outcome = await run_called(ctx, called, self.calls, ctx.resolve(self._inputs))
        return {"content": "", **outcome.result}
