"""``response``: answers with a language model, streaming its tokens.

``fallback_models`` are tried in order when the model still fails after the client's
retries; ``history_turns`` takes only the last turns of the session's history (it can
narrow the engine's window, ``engine.history_turns``, not widen it: only that much is kept).

``tools`` lets the model call workflows and MCP servers' tools (nodes/tools/): the node then
runs the function-calling loop, at most ``max_tool_rounds`` rounds, and records each call in
its ``tools`` output. Without tools nothing of that runs.

``vision: true`` sends the run's image inputs along with the user's message, as image parts
(nodes/vision.py); its record says which went and which files were left out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, TypeVar

from pydantic import Field, field_validator

from engine.errors import ExecutionFailed
from engine.workflow.nodes.base import NodeConfig, NodeContext
from engine.workflow.nodes.model import ChatMessage, Image, Reply
from engine.workflow.nodes.tools.items import MAX_TOOL_ITEMS, ToolItem, WorkflowTool
from engine.workflow.nodes.tools.loop import answer_with_tools
from engine.workflow.nodes.tools.toolbox import toolbox
from engine.workflow.nodes.vision import run_images

#: Each fallback is one more full model call (with its own retries) inside the node's time.
MAX_FALLBACKS = 5
MAX_TOOL_ROUNDS = 20
T = TypeVar("T")


class ResponseConfig(NodeConfig):
    model: str | None = None  # None: llm.default_model
    system_prompt: str = ""
    prompt: str | None = None  # None: the upstream node's text, else the user's input
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, gt=0)
    use_history: bool = True
    fallback_models: tuple[str, ...] = Field((), max_length=MAX_FALLBACKS)
    history_turns: int | None = Field(None, ge=0, le=1000)  # None: the engine's window
    tools: tuple[ToolItem, ...] = Field((), max_length=MAX_TOOL_ITEMS)
    # Rounds of tool calls before the model must answer; each is one model call more.
    max_tool_rounds: int = Field(5, ge=1, le=MAX_TOOL_ROUNDS)
    tool_timeout_s: float = Field(30.0, gt=0, le=600)  # each call's time
    vision: bool = False  # the run's image inputs go to the model with the user's message

    @field_validator("tools")
    @classmethod
    def _unique_names(cls, tools: tuple[ToolItem, ...]) -> tuple[ToolItem, ...]:
        names = [t.name or t.workflow for t in tools if isinstance(t, WorkflowTool)]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"two tools are named {dup[0]!r}: give one a 'name'")
        return tools


class ResponseNode:
    type_name: ClassVar[str] = "response"
    instant: ClassVar[bool] = False
    config_model: ClassVar[type[NodeConfig]] = ResponseConfig

    def __init__(self, node_id: str, config: ResponseConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = config.timeout_s
        # For validation (engine/workflow/calls.py): a loop through tools is refused like any.
        self.calls_as_tools = tuple(t.workflow for t in config.tools if isinstance(t, WorkflowTool))

    def outputs(self) -> frozenset[str]:
        return frozenset({"text", "tools"}) if self.config.tools else frozenset({"text"})

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
        images: list[Image] = []
        if self.config.vision:
            seen = await run_images(ctx)
            ctx.sent = seen.record()
            images = seen.images
        if self.config.tools:
            return await self._with_tools(ctx, list(messages), images)
        on_delta = ctx.emit_delta if ctx.sink is not None else None
        c = self.config
        text = await self._first_answer(
            lambda model: ctx.llm.complete(
                model, messages, on_delta, temperature=c.temperature, max_tokens=c.max_tokens, images=images
            )
        )
        return {"text": text}

    async def _first_answer(self, ask: Callable[[str | None], Awaitable[T]]) -> T:
        """``ask`` the node's model, then each of ``fallback_models``, until one answers."""
        models = [self.config.model, *self.config.fallback_models]
        while True:
            model = models.pop(0)
            try:
                return await ask(model)
            except ExecutionFailed:  # a timeout too: the next model may answer in time
                if not models:
                    raise

    async def _with_tools(
        self, ctx: NodeContext, messages: list[ChatMessage], images: Sequence[Image]
    ) -> dict[str, Any]:
        tools = await toolbox(ctx, self.config.tools)
        specs = [t.spec for t in tools.values()]
        c = self.config

        def ask(
            sent: Sequence[ChatMessage], on_delta: Callable[[str], None] | None, choice: str | None
        ) -> Awaitable[Reply]:
            return self._first_answer(
                lambda model: ctx.llm.chat(
                    model,
                    sent,
                    on_delta,
                    tools=specs,
                    tool_choice=choice,
                    temperature=c.temperature,
                    max_tokens=c.max_tokens,
                    images=images,  # every round: the model server keeps nothing between them
                )
            )

        answered = await answer_with_tools(
            ctx, ask, messages, tools, max_rounds=c.max_tool_rounds, tool_timeout_s=c.tool_timeout_s
        )
        return {"text": answered.text, "tools": answered.calls}

    def _history(self, ctx: NodeContext) -> Sequence[dict[str, str]]:
        turns = self.config.history_turns
        if turns is None:
            return ctx.history
        # A turn is the user's message and its answer; 0 takes none.
        return ctx.history[-2 * turns :] if turns else ()
