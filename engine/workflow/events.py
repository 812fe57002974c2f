"""Events a running workflow emits; REST streaming and chat replies both consume them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class NodeStarted:
    node_id: str
    type: str


@dataclass(frozen=True, slots=True)
class NodeFinished:
    node_id: str
    type: str
    status: str = "completed"  # or "continued": it failed and on_error let the run go on
    duration_ms: float = 0.0
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class NodeSkipped:
    """No live connection reached the node: it did not run, nor do the nodes only it leads to."""

    node_id: str
    type: str


@dataclass(frozen=True, slots=True)
class MessageDelta:
    node_id: str
    content: str


@dataclass(frozen=True, slots=True)
class MessageSent:
    """A ``message`` node's text, delivered at once as a message of its own, with the files it
    sends along (each ``{id, name, mime_type, size, url}``, the URL signed)."""

    node_id: str
    text: str
    attachments: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class ToolCalled:
    """A ``response`` node's model asked for a tool: ``arguments`` as the model wrote them."""

    node_id: str
    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolAnswered:
    """What a tool gave back to the model: its ``result``, or the ``error`` it was told instead."""

    node_id: str
    call_id: str
    name: str
    result: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class QuestionAsked:
    """A ``question`` node asked: the execution now waits for the answer (``{"text", "options"}``)."""

    node_id: str
    question: dict[str, object]


Event = (
    NodeStarted
    | NodeFinished
    | NodeSkipped
    | MessageDelta
    | MessageSent
    | ToolCalled
    | ToolAnswered
    | QuestionAsked
)
