"""``end``: decides the execution's result, ``{"content": ..., **outputs}``."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import Field, field_validator

from engine.workflow.nodes.attachments import ATTACHMENTS_FIELD, Attachments, Compiled
from engine.workflow.nodes.base import NodeConfig, NodeContext
from engine.workflow.templates import compile_value, parse

# Names the result already uses for something else.
_RESERVED = frozenset({"content", "messages", "attachments"})
_NAME = re.compile(r"[A-Za-z0-9_-]+")


class EndConfig(NodeConfig):
    content: str = ""  # a template
    # Each value may hold references; a value that is exactly one reference keeps its type.
    outputs: dict[str, Any] = Field(default_factory=dict)
    attachments: Attachments = ATTACHMENTS_FIELD  # files sent with the answer

    @field_validator("outputs")
    @classmethod
    def _names(cls, outputs: dict[str, Any]) -> dict[str, Any]:
        taken = sorted(_RESERVED & outputs.keys())
        if taken:
            raise ValueError(f"outputs may not be named {taken[0]!r}: the result uses that name itself")
        bad = sorted(n for n in outputs if not _NAME.fullmatch(n))
        if bad:  # a name {{end.name}} could not spell
            raise ValueError(f"output name {bad[0]!r} is not a name (letters, digits, _ and -)")
        return outputs


class EndNode:
    type_name: ClassVar[str] = "end"
    instant: ClassVar[bool] = True
    final: ClassVar[bool] = True
    config_model: ClassVar[type[NodeConfig]] = EndConfig

    def __init__(self, node_id: str, config: EndConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = config.timeout_s
        # Parsed once per workflow version, not per run.
        self._content = parse(config.content)
        self._outputs = {name: compile_value(v) for name, v in config.outputs.items()}
        self._attachments = Compiled(config.attachments)

    def ports(self) -> frozenset[str]:
        return frozenset()  # nothing runs after the end

    def outputs(self) -> frozenset[str]:
        return frozenset({"content", *self._outputs, *(("attachments",) if self._attachments else ())})

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        out: dict[str, Any] = {"content": self._content.render(ctx.pool)}
        for name, value in self._outputs.items():
            out[name] = ctx.resolve(value)
        if self._attachments:
            out["attachments"] = files = await self._attachments.send(ctx, self.timeout_s)
            ctx.hooks.attach(files)
        return out
