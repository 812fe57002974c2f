"""A node type with a bug in it, for the stories about what a node bug costs (nothing but
one logged traceback and a 500 naming the execution)."""

from __future__ import annotations

from typing import Any, ClassVar

from engine.workflow.nodes import NodeConfig, NodeContext


class BuggyNode:
    """Raises what no node should: a ``KeyError``, as a node reading a missing input once did."""

    type_name: ClassVar[str] = "buggy"
    config_model: ClassVar[type[NodeConfig]] = NodeConfig
    instant: ClassVar[bool] = True

    def __init__(self, node_id: str, config: NodeConfig) -> None:
        self.timeout_s = config.timeout_s

    def outputs(self) -> frozenset[str]:
        return frozenset({"text"})

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        return {"text": {"a": 1}["b"]}
