"""The node interface: a node type is one class with a config model and ``run``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from engine.workflow.events import Event, MessageDelta
from engine.workflow.nodes.model import ChatModel as ChatModel  # (re-exported: what nodes see)
from engine.workflow.nodes.model import Message as Message
from engine.workflow.templates import Ref, Scope, Value, references, render

if TYPE_CHECKING:
    from config.schema import EngineSettings

#: The output a connection without ``port`` follows.
DEFAULT_PORT = "default"
#: The port a node with ``on_error: "branch"`` continues on when it fails.
ERROR_PORT = "error"

T = TypeVar("T")


class Retry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(3, ge=1, le=10)
    backoff_s: float = Field(0.5, ge=0, le=60)  # before the second attempt; doubled after each


class NodeConfig(BaseModel):
    """Keys every node accepts; node types extend it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float | None = Field(None, gt=0)
    retry: Retry | None = None
    # "fail": the execution fails; "continue": the outputs become ``default``; "branch": the
    # run goes on along the node's ``error`` port, with output ``error: {code, message}``.
    on_error: Literal["fail", "continue", "branch"] = "fail"
    default: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class ServiceKey(Generic[T]):
    """Names a service a node may ask its context for (``ctx.service(KEY)``): a new kind of
    service is a key, not a new field on every context."""

    name: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a sub-workflow's run gave back: its result. (Its messages went out as it ran, to
    the execution's.)"""

    result: dict[str, Any]


class RunHooks(Protocol):
    """What a node reaches through its context of the run it is part of."""

    def service(self, key: ServiceKey[T]) -> T: ...

    @property
    def limits(self) -> EngineSettings:
        """The engine's bounds for this run (``max_items``, ``max_depth``…)."""
        ...

    def set_session(self, name: str, value: Any) -> None: ...

    def deliver(self, node_id: str, text: str, attachments: Sequence[dict[str, Any]] = ()) -> None: ...

    def attach(self, files: Sequence[dict[str, Any]]) -> None:
        """Files an ``end`` node sends with the answer: listed in the result's ``attachments``."""
        ...

    def ask(self, node_id: str, question: dict[str, Any]) -> None:
        """The run waits here for the user's answer (a ``question`` node)."""
        ...

    async def run_workflow(self, workflow: Any, inputs: dict[str, Any]) -> Outcome: ...


@dataclass(slots=True)
class NodeContext:
    """What a running node may see: the pool of earlier outputs, history, the model, and
    through ``hooks`` what the run offers (services, session variables, sub-workflows)."""

    execution_id: str
    node_id: str
    inputs: Mapping[str, Any]
    pool: Scope  # outputs by node id, plus "inputs", "session" and "sys"
    predecessors: Sequence[str]
    history: Sequence[Message]
    llm: ChatModel
    sink: Callable[[Event], None] | None
    hooks: RunHooks
    port: str = field(default=DEFAULT_PORT)  # the output the run continues on
    logs: str | None = None  # what the node's own code printed, for the execution record
    sent: dict[str, Any] | None = None  # what the node sent out (secrets masked), for the record

    def render(self, template: str) -> str:
        return render(template, self.pool)

    def resolve(self, value: Value) -> Any:
        return value.resolve(self.pool)

    def emit_delta(self, content: str) -> None:
        if self.sink is not None:
            self.sink(MessageDelta(self.node_id, content))

    def take(self, port: str) -> None:
        """Continue along ``port`` (one the node type declares) instead of the default."""
        self.port = port

    def service(self, key: ServiceKey[T]) -> T:
        return self.hooks.service(key)


class Node(Protocol):
    """A node type. Instances are built once per workflow version and must be stateless.

    Optional, with defaults: ``ports() -> frozenset[str]`` (the outputs connections may
    name; ``{"default"}``), and ``final: ClassVar[bool]`` (its outputs are the execution's
    result; at most one per workflow)."""

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


def ports_of(node: Node) -> frozenset[str]:
    ports: Callable[[], frozenset[str]] | None = getattr(node, "ports", None)
    return ports() if ports is not None else frozenset({DEFAULT_PORT})


def references_of(node: Node, config: Any) -> Iterable[Ref]:
    """What a node's config references: the ``{{ref}}`` strings in it, unless the node type
    reads its config otherwise and says so with ``references()`` (a Jinja template)."""
    declared: Callable[[], Iterable[Ref]] | None = getattr(node, "references", None)
    return declared() if declared is not None else references(config)


def is_final(node: Node) -> bool:
    return bool(getattr(node, "final", False))


def waits(node: Node) -> bool:
    """Whether a run may stop at the node to wait for the user (``waits: ClassVar[bool]``)."""
    return bool(getattr(node, "waits", False))
