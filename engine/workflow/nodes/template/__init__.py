"""``template``: the node (node.py), its filters (filters.py), the bounds of every render (guards.py)."""

from __future__ import annotations

from engine.workflow.nodes.template.node import TemplateConfig, TemplateNode

__all__ = ["TemplateConfig", "TemplateNode"]
