"""``variable``: names values for later nodes, for this execution or for the whole session.

``set: {name: value}``: a value is a literal, a template string (exactly one reference keeps
the referenced value's type), or ``{"first_of": [...]}``: the first candidate that is not
empty (None, "", [], {}), which is how the branches after a ``condition`` are merged.

With ``scope: "session"`` each value is also a session variable: later nodes read it as
``{{session.name}}``, and when the execution completes it is stored with the record, so
every later execution of the session reads it too. An execution without a ``session_id``
has no session to keep it in: there ``session`` scope lasts for the execution, like
``execution`` scope (``{{session.name}}`` still reads it for the rest of the run).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import Field, StringConstraints

from engine.errors import ExecutionFailed
from engine.workflow.nodes.base import NodeConfig, NodeContext
from engine.workflow.storable import storable_problem
from engine.workflow.templates import Value, compile_value

#: Names one node may set: its outputs, and at most this many session variables at once.
MAX_NAMES = 50
#: A session variable as stored (compact JSON) is at most this many bytes: every later
#: execution of the session loads all of them.
MAX_VALUE_BYTES = 16 * 1024
#: Distinct session variables one session may hold.
MAX_SESSION_VARIABLES = 100

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]


class VariableConfig(NodeConfig):
    set: dict[Name, Any] = Field(
        min_length=1,
        max_length=MAX_NAMES,
        description="name: value. A value is a literal, a template string, or "
        '{"first_of": [...]}: the first that is not empty (null, "", [], {}).',
    )
    scope: Literal["execution", "session"] = Field(
        "execution",
        description="session: also kept for the session's later executions as {{session.name}} "
        "(stored when the execution completes). Without a session_id it lasts for the execution.",
    )


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not value)


class _FirstOf:
    """``{"first_of": [...]}``: each candidate compiled once; the first non-empty one wins."""

    __slots__ = ("candidates",)

    def __init__(self, candidates: tuple[Value, ...]) -> None:
        self.candidates = candidates

    def resolve(self, ctx: NodeContext) -> Any:
        for candidate in self.candidates:
            value = ctx.resolve(candidate)
            if not _empty(value):
                return value
        return None


def _compile(name: str, raw: Any) -> Value | _FirstOf:
    if isinstance(raw, dict) and "first_of" in raw:
        if len(raw) != 1:
            raise ValueError(
                f"set.{name}: first_of stands alone (found also {sorted(set(raw) - {'first_of'})})"
            )
        candidates = raw["first_of"]
        if not isinstance(candidates, list) or not candidates:
            raise ValueError(f"set.{name}.first_of must be a non-empty list of values")
        return _FirstOf(tuple(compile_value(c) for c in candidates))
    return compile_value(raw)


class VariableNode:
    type_name: ClassVar[str] = "variable"
    instant: ClassVar[bool] = True
    config_model: ClassVar[type[NodeConfig]] = VariableConfig

    def __init__(self, node_id: str, config: VariableConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = config.timeout_s
        self.session = config.scope == "session"
        self._values = {name: _compile(name, raw) for name, raw in config.set.items()}
        self._names = frozenset(self._values)

    def outputs(self) -> frozenset[str]:
        return self._names

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        out = {
            name: v.resolve(ctx) if isinstance(v, _FirstOf) else ctx.resolve(v)
            for name, v in self._values.items()
        }
        if self.session:
            self._check_storable(ctx, out)
            for name, value in out.items():
                ctx.hooks.set_session(name, value)
        return out

    def _check_storable(self, ctx: NodeContext, out: dict[str, Any]) -> None:
        """Refuse, before anything is kept, what the session could not store or should not hold."""
        for name, value in out.items():
            problem = storable_problem(value)
            if problem is not None:
                raise ExecutionFailed(
                    f"session variable '{name}' cannot be stored: {problem}",
                    {"node": self.node_id, "variable": name},
                )
            size = len(orjson.dumps(value))
            if size > MAX_VALUE_BYTES:
                raise ExecutionFailed(
                    f"session variable '{name}' is {size} bytes as JSON, over the {MAX_VALUE_BYTES} allowed",
                    {"node": self.node_id, "variable": name, "bytes": size, "max_bytes": MAX_VALUE_BYTES},
                )
        held = ctx.pool.get("session", {})
        count = len(held.keys() | out.keys())
        if count > MAX_SESSION_VARIABLES:
            raise ExecutionFailed(
                f"a session holds at most {MAX_SESSION_VARIABLES} variables; this would make {count}",
                {"node": self.node_id, "max_variables": MAX_SESSION_VARIABLES},
            )
