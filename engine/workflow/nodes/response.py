"""``response``: answers with a language model, streaming its tokens."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from engine.workflow.nodes.base import NodeConfig, NodeContext


class ResponseConfig(NodeConfig):
    model: str | None = None  # None: llm.default_model
    system_prompt: str = ""
    prompt: str | None = None  # None: the upstream node's text, else the user's input
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, gt=0)
    use_history: bool = True


class ResponseNode:
    type_name: ClassVar[str] = "response"
    instant: ClassVar[bool] = False
    config_model: ClassVar[type[NodeConfig]] = ResponseConfig

    def __init__(self, node_id: str, config: ResponseConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = config.timeout_s

    def outputs(self) -> frozenset[str]:
        return frozenset({"text"})

    def _prompt(self, ctx: NodeContext) -> str:
        if self.config.prompt is not None:
            return ctx.render(self.config.prompt)
        for pred in ctx.predecessors:  # a skipped one left nothing in the pool
            text = ctx.pool.get(pred, {}).get("text")
            if isinstance(text, str):
                return text
        user_input = ctx.inputs.get("user_input")
        if isinstance(user_input, str):
            return user_input
        return next((v for v in ctx.inputs.values() if isinstance(v, str)), "")

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        messages: list[dict[str, str]] = []
        if self.config.system_prompt:
            messages.append({"role": "system", "content": ctx.render(self.config.system_prompt)})
        if self.config.use_history:
            messages.extend(ctx.history)
        messages.append({"role": "user", "content": self._prompt(ctx)})
        text = await ctx.llm.complete(
            self.config.model,
            messages,
            ctx.emit_delta if ctx.sink is not None else None,
            temperature=self.config.temperature,
            max_tokens=self.config.max_tokens,
        )
        return {"text": text}
