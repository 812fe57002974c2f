"""``response``: answers with a language model, streaming its tokens.

``fallback_models`` are tried in order when the model still fails after the client's
retries; ``history_turns`` takes only the last turns of the session's history (it can
narrow the engine's window, ``engine.history_turns``, not widen it: only that much is kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import Field

from engine.errors import ExecutionFailed
from engine.workflow.nodes.base import NodeConfig, NodeContext

#: Each fallback is one more full model call (with its own retries) inside the node's time.
MAX_FALLBACKS = 5


class ResponseConfig(NodeConfig):
    model: str | None = None  # None: llm.default_model
    system_prompt: str = ""
    prompt: str | None = None  # None: the upstream node's text, else the user's input
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, gt=0)
    use_history: bool = True
    fallback_models: tuple[str, ...] = Field((), max_length=MAX_FALLBACKS)
    history_turns: int | None = Field(None, ge=0, le=1000)  # None: the engine's window


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
            messages.extend(self._history(ctx))
        messages.append({"role": "user", "content": self._prompt(ctx)})
        on_delta = ctx.emit_delta if ctx.sink is not None else None
        models = [self.config.model, *self.config.fallback_models]
        while True:
            model = models.pop(0)
            try:
                text = await ctx.llm.complete(
                    model,
                    messages,
                    on_delta,
                    temperature=self.config.temperature,
                    max_tokens=self.config.max_tokens,
                )
            except ExecutionFailed:  # a timeout too: the next model may answer in time
                if not models:
                    raise
                continue
            return {"text": text}

    def _history(self, ctx: NodeContext) -> Sequence[dict[str, str]]:
        turns = self.config.history_turns
        if turns is None:
            return ctx.history
        # A turn is the user's message and its answer; 0 takes none.
        return ctx.history[-2 * turns :] if turns else ()
