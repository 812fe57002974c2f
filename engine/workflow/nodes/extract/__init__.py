"""``extract``: turns a sentence into typed parameters (see ``node``)."""

from __future__ import annotations

from engine.workflow.nodes.extract.config import ExtractConfig, Parameter
from engine.workflow.nodes.extract.node import ExtractNode

__all__ = ["ExtractConfig", "ExtractNode", "Parameter"]
