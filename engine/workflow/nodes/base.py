"""The node interface: a node type is one class with a config model and ``run``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field

from engine.workflow.events import Event, MessageDelta
from engine.workflow.templates import render

# One turn of a conversation as the model sees it: {"role": …, "content": …}.
Message = dict[str, str]


class ChatModel(Protocol):
    """What a node may ask of a language model (engine/llm/client.py is the real one)."""

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


class NodeConfig(BaseModel):
    """Keys every node accepts; node types extend it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float | None = Field(None, gt=0)


@dataclass(slots=True)
class NodeContext:
    """What a running node may see: the pool of earlier outputs, history, the model."""

    execution_id: str
    node_id: str
    inputs: Mapping[str, Any]
    pool: Mapping[str, Mapping[str, Any]]
    predecessors: Sequence[str]
    history: Sequence[Message]
    llm: ChatModel
    sink: Callable[[Event], None] | None

    def render(self, template: str) -> str:
        return render(template, self.pool)

    def emit_delta(self, content: str) -> None:
        if self.sink is not None:
            self.sink(MessageDelta(self.node_id, content))


class Node(Protocol):
    """A node type. Instances are built once per workflow version and must be stateless."""

    type_name: ClassVar[str]
    config_model: ClassVar[type[NodeConfig]]
    #: True for nodes that compute without awaiting I/O: they run without a timeout timer
    instant: ClassVar[bool]

    def __init__(self, node_id: str, config: Any) -> None: ...

    @property
    def timeout_s(self) -> float | None: ...

    def outputs(self) -> frozenset[str]:
        """Fields this node puts in the pool (what ``{{node_id.field}}`` may name)."""
        ...

    async def run(self, ctx: NodeContext) -> dict[str, Any]: ...
