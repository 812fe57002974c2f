"""The node registry: a new node type is one module plus one line here."""

from __future__ import annotations

from engine.workflow.nodes.base import Node, NodeConfig, NodeContext
from engine.workflow.nodes.condition import ConditionNode
from engine.workflow.nodes.response import ResponseNode
from engine.workflow.nodes.start import StartNode
from engine.workflow.nodes.template import TemplateNode

REGISTRY: dict[str, type[Node]] = {
    StartNode.type_name: StartNode,
    ResponseNode.type_name: ResponseNode,
    ConditionNode.type_name: ConditionNode,
    TemplateNode.type_name: TemplateNode,
}

__all__ = ["REGISTRY", "Node", "NodeConfig", "NodeContext", "ResponseNode", "StartNode"]
