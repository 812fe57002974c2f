"""The node registry: a new node type is one module plus one line here."""

from __future__ import annotations

from engine.nodes.base import Node, NodeConfig, NodeContext
from engine.nodes.response import ResponseNode
from engine.nodes.start import StartNode

REGISTRY: dict[str, type[Node]] = {
    StartNode.type_name: StartNode,
    ResponseNode.type_name: ResponseNode,
}

__all__ = ["REGISTRY", "Node", "NodeConfig", "NodeContext", "ResponseNode", "StartNode"]
