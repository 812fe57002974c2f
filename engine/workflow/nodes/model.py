"""What a node may ask of a language model: plain answers, tool calls, structured output.

engine/llm/client.py is the real one; the workflow core sees only this protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# One turn of a conversation as the model sees it: {"role": …, "content": …}.
Message = dict[str, str]
#: A message of a function-calling exchange: an assistant turn may carry ``tool_calls``,
#: a ``tool`` turn answers one by ``tool_call_id``.
ChatMessage = dict[str, Any]


#: The image formats OpenAI-compatible vision models read, by how their bytes begin.
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
VISION_FORMATS = "png, jpeg, gif, webp"


def image_type(data: bytes) -> str | None:
    """The MIME type ``data`` really is, if a vision model reads it (what a user's file
    claims to be is not trusted: a wrong type makes the model server refuse the request)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _IMAGE_MAGIC if data.startswith(magic)), None)


#: Images one user message may carry to a vision model, and their bytes in all: each
#: travels base64-encoded inside the request (a model server may not reach chatgate).
MAX_IMAGES = 8
MAX_IMAGE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Image:
    """An image for a vision model, with its bytes (sent as an image part of the user's message)."""

    name: str
    mime_type: str  # image/png, image/jpeg, image/gif, image/webp
    data: bytes = field(repr=False)


def images_problem(count: int, size: int) -> str | None:
    """Why ``count`` images of ``size`` bytes in all cannot go to the model together, if they cannot."""
    if count > MAX_IMAGES:
        return f"at most {MAX_IMAGES} images go to the model with one message; this one has {count}"
    if size > MAX_IMAGE_BYTES:
        return (
            f"the images sent to the model with one message may be at most {MAX_IMAGE_BYTES // 2**20} MiB "
            f"in all; these are {size / 2**20:.1f} MiB"
        )
    return None


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
        images: Sequence[Image] = (),
    ) -> str:
        """The whole answer; ``on_delta``, if given, sees each chunk as it is produced.
        ``images`` go with the last user message (at most `MAX_IMAGES`, `MAX_IMAGE_BYTES`)."""
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
        images: Sequence[Image] = (),
    ) -> Reply:
        """One turn with function calling and/or structured output (``response_format`` as
        the OpenAI API takes it), ``images`` as `complete` takes them. The offline model
        never calls tools."""
        ...

    def offline(self, model: str | None) -> bool:
        """Whether ``model`` is the offline ``echo`` model (nodes answer deterministically then)."""
        ...
