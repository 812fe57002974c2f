"""Asking a model for a structured answer, and reading what it gave back.

Servers differ: some follow a forced tool call or a JSON-schema ``response_format``, some
ignore it and answer prose, some refuse the request outright (HTTP 400). So a node asks
for structure, asks once more plainly when the request itself is refused, and then reads
whatever came: a tool call's arguments, else a JSON object somewhere in the text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from engine.errors import ExecutionFailed
from engine.workflow.nodes.base import NodeConfig, NodeContext
from engine.workflow.nodes.model import ChatMessage, ChatModel, Reply, ToolSpec
from engine.workflow.templates import Ref, parse, references

#: Statuses with which a server says it will not take the structured request itself
#: (an unknown ``tools``/``response_format``), rather than failing to answer it.
REFUSED_STATUSES = frozenset({400, 422})
#: How much of an answer is read, whatever the server sends (``max_tokens`` is optional).
MAX_ANSWER_CHARS = 64 * 1024
#: ``{`` positions tried when a JSON object is looked for inside prose.
MAX_OBJECT_STARTS = 32
#: Of the text a node sends the model (its ``input``): the rest is cut off.
MAX_INPUT_CHARS = 32 * 1024

_decoder = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class Structure:
    """What a node asks for: a forced tool, a response format, or both."""

    tools: Sequence[ToolSpec] = ()
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None


def forced(tool: ToolSpec) -> Structure:
    """The model must answer by calling ``tool``."""
    return Structure(tools=(tool,), tool_choice={"type": "function", "function": {"name": tool.name}})


def json_schema(name: str, schema: dict[str, Any]) -> Structure:
    """The model must answer with a JSON object that fits ``schema`` (strict, as OpenAI defines it)."""
    return Structure(
        response_format={
            "type": "json_schema",
            "json_schema": {"name": name, "strict": True, "schema": schema},
        }
    )


def refused_request(error: ExecutionFailed) -> bool:
    details = error.details
    return isinstance(details, dict) and details.get("status") in REFUSED_STATUSES


async def ask(
    ctx: NodeContext,
    model: str | None,
    messages: Sequence[ChatMessage],
    structure: Structure,
    *,
    temperature: float | None,
    max_tokens: int | None,
) -> Reply:
    """One answer, structured if the server takes the request; if it refuses it, once plainly
    (the messages ask for JSON too, so a plain answer can still be read). No deltas: a
    structured answer is the node's own, not text for the user."""
    return await ask_model(
        ctx.llm, model, messages, structure, temperature=temperature, max_tokens=max_tokens
    )


async def ask_model(
    llm: ChatModel,
    model: str | None,
    messages: Sequence[ChatMessage],
    structure: Structure,
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> Reply:
    """`ask`, outside a running node (a question's answer read when it comes)."""
    try:
        return await llm.chat(
            model,
            messages,
            None,
            tools=structure.tools,
            tool_choice=structure.tool_choice,
            response_format=structure.response_format,
            temperature=temperature,
            max_tokens=max_tokens,
        )
    except ExecutionFailed as e:
        if not refused_request(e):
            raise
    return await llm.chat(model, messages, None, temperature=temperature, max_tokens=max_tokens)


def answer_object(reply: Reply, tool: str | None = None) -> dict[str, Any] | None:
    """The answer's JSON object: the arguments of its call to ``tool`` (any call, without
    one), else the first object in its text; None when there is none."""
    for call in reply.tool_calls:
        if tool is None or call.name == tool:
            found = json_object(call.arguments)
            if found is not None:
                return found
    return json_object(reply.text)


def json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text``: all of it, one in a fenced block or inside prose."""
    text = text[:MAX_ANSWER_CHARS]
    start = text.find("{")
    tried = 0
    while start != -1 and tried < MAX_OBJECT_STARTS:
        tried += 1
        try:
            value, _ = _decoder.raw_decode(text, start)
        except (ValueError, RecursionError):  # malformed, or nested past the decoder's depth
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def bounded_input(text: str) -> str:
    return text[:MAX_INPUT_CHARS]


class AskConfig(NodeConfig):
    """What every node that asks a model for a structured answer takes."""

    input: str | None = Field(None, description="The text to read (a template); default: the user's message.")
    model: str | None = None  # None: llm.default_model
    instructions: str = Field("", description="Told to the model before the task (a template).")
    use_history: bool = Field(False, description="Show the model the session's earlier turns.")
    # Not sent unless set: reasoning models refuse both (0 makes the choice steadier elsewhere).
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, gt=0, le=16384)


class Question:
    """One such node's question, its templates parsed once per workflow version: ``task``
    says what to do, ``listing`` what to choose or find."""

    def __init__(self, config: AskConfig, task: str, listing: str) -> None:
        self.config = config
        self.task = task
        self.listing = listing
        # (A secret is refused in any of these keys by the graph: none is sent to a model.)
        self.refs: tuple[Ref, ...] = tuple(references([config.input, config.instructions, config.default]))
        self._input = parse(config.input) if config.input is not None else None
        self._instructions = parse(config.instructions)

    def text(self, ctx: NodeContext) -> str:
        """What is read: ``input`` rendered, else the user's message; bounded."""
        return bounded_input(self._input.render(ctx.pool) if self._input is not None else user_text(ctx))

    def offline(self, ctx: NodeContext) -> bool:
        return ctx.llm.offline(self.config.model)

    def messages(self, ctx: NodeContext, text: str) -> list[ChatMessage]:
        instructions = self._instructions.render(ctx.pool).strip()
        system = self.task + "\n" + (instructions + "\n" if instructions else "")
        messages: list[ChatMessage] = [{"role": "system", "content": system + self.listing}]
        if self.config.use_history:
            messages.extend(ctx.history)
        messages.append({"role": "user", "content": text})
        return messages

    async def ask(self, ctx: NodeContext, text: str, structure: Structure) -> Reply:
        return await ask(
            ctx,
            self.config.model,
            self.messages(ctx, text),
            structure,
            temperature=self.config.temperature,
            max_tokens=self.config.max_tokens,
        )


def user_text(ctx: NodeContext) -> str:
    """The user's message: the start node's ``user_input``, else its first text input."""
    user_input = ctx.inputs.get("user_input")
    if isinstance(user_input, str):
        return user_input
    return next((v for v in ctx.inputs.values() if isinstance(v, str)), "")
