"""What a node may ask of a language model: plain answers, tool calls, structured output.

engine/llm/client.py is the real one; the workflow core sees only this protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# One turn of a conversation as the model sees it: {"role": …, "content": …}.
Message = dict[str, str]
#: A message of a function-calling exchange: an assistant turn may carry ``tool_calls``,
#: a ``tool`` turn answers one by ``tool_call_id``.
ChatMessage = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call: ``parameters`` is a JSON Schema object."""

    name: str
    description: str
    parameters: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        """As the OpenAI-compatible ``tools`` list carries it."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text as the model wrote it: it may be malformed, the caller decides

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True, slots=True)
class Reply:
    """A model's answer: its text, and the tools it asks to call (none: it has answered)."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()

    def as_message(self) -> ChatMessage:
        """The assistant turn to send back with the tools' results."""
        turn: ChatMessage = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            turn["tool_calls"] = [c.wire() for c in self.tool_calls]
        return turn


class ChatModel(Protocol):
    async def complete(
        self,
        model: str | None,
        messages: list[Message],
        on_delta: Callable[[str], None] | None,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> str:
        """The whole answer; ``on_delta``, if given, sees each chunk as it is produced."""
        ...

    async def chat(
        self,
        model: str | None,
        messages: Sequence[ChatMessage],
        on_delta: Callable[[str], None] | None,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: str | dict[str, Any] | None = None,
        response_format: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Reply:
        """One turn with function calling and/or structured output (``response_format`` as
        the OpenAI API takes it). The offline model never calls tools."""
        ...

    def offline(self, model: str | None) -> bool:
        """Whether ``model`` is the offline ``echo`` model (nodes answer deterministically then)."""
        ...
