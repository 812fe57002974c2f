"""The node registry: a new node type is one module plus one line here."""

from __future__ import annotations

from engine.workflow.nodes.base import Node, NodeConfig, NodeContext
from engine.workflow.nodes.iterate import IterateNode
from engine.workflow.nodes.response import ResponseNode
from engine.workflow.nodes.start import StartNode
from engine.workflow.nodes.variable import VariableNode
from engine.workflow.nodes.workflow import WorkflowNode

REGISTRY: dict[str, type[Node]] = {
    StartNode.type_name: StartNode,
    ResponseNode.type_name: ResponseNode,
    WorkflowNode.type_name: WorkflowNode,
    IterateNode.type_name: IterateNode,
    VariableNode.type_name: VariableNode,
}

__all__ = ["REGISTRY", "Node", "NodeConfig", "NodeContext", "ResponseNode", "StartNode"]
