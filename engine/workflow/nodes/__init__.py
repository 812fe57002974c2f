"""The node registry: a new node type is one module plus one line here."""

from __future__ import annotations

from engine.workflow.nodes.base import Node, NodeConfig, NodeContext
from engine.workflow.nodes.code import CodeNode
from engine.workflow.nodes.condition import ConditionNode
from engine.workflow.nodes.end import EndNode
from engine.workflow.nodes.extract import ExtractNode
from engine.workflow.nodes.http import HttpNode
from engine.workflow.nodes.intent import IntentNode
from engine.workflow.nodes.iterate import IterateNode
from engine.workflow.nodes.message import MessageNode
from engine.workflow.nodes.question import QuestionNode
from engine.workflow.nodes.response import ResponseNode
from engine.workflow.nodes.start import StartNode
from engine.workflow.nodes.template import TemplateNode
from engine.workflow.nodes.variable import VariableNode
from engine.workflow.nodes.workflow import WorkflowNode

REGISTRY: dict[str, type[Node]] = {
    StartNode.type_name: StartNode,
    ResponseNode.type_name: ResponseNode,
    WorkflowNode.type_name: WorkflowNode,
    IterateNode.type_name: IterateNode,
    MessageNode.type_name: MessageNode,
    EndNode.type_name: EndNode,
    ConditionNode.type_name: ConditionNode,
    TemplateNode.type_name: TemplateNode,
    VariableNode.type_name: VariableNode,
    IntentNode.type_name: IntentNode,
    ExtractNode.type_name: ExtractNode,
    HttpNode.type_name: HttpNode,
    CodeNode.type_name: CodeNode,
    QuestionNode.type_name: QuestionNode,
}

__all__ = ["REGISTRY", "Node", "NodeConfig", "NodeContext", "ResponseNode", "StartNode"]
