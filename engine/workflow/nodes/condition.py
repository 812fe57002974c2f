"""``condition``: continues on the port of the first branch whose conditions hold, else ``else``.

Everything is prepared once per workflow version (references parsed, literal right sides
turned into comparison keys, literal patterns compiled), so a run only resolves and compares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.errors import ExecutionFailed
from engine.workflow.nodes import operators
from engine.workflow.nodes.base import DEFAULT_PORT, ERROR_PORT, NodeConfig, NodeContext
from engine.workflow.templates import Scope, Value, compile_value, parse, references, shown

#: The port taken when no branch holds.
ELSE_PORT = "else"
_RESERVED_PORTS = frozenset({ELSE_PORT, ERROR_PORT, DEFAULT_PORT})

Op = Literal[
    "==", "!=", ">", ">=", "<", "<=", "contains", "not_contains", "starts_with", "ends_with",
    "is_empty", "not_empty", "in", "not_in", "matches",
]  # fmt: skip


def _is_literal(value: Any) -> bool:
    return next(references(value), None) is None


def _one_reference(value: Any) -> bool:
    """A string that is exactly one reference: at run time it may be any type."""
    return isinstance(value, str) and parse(value).whole is not None


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    left: Any = None
    op: Op
    right: Any = None
    ignore_case: bool = False  # compare text case-insensitively (and match patterns so)

    @model_validator(mode="after")
    def _right_fits(self) -> Condition:
        given = "right" in self.model_fields_set
        if self.op in operators.UNARY:
            if given and self.right is not None:
                raise ValueError(f"'{self.op}' takes no right side")
        elif not given:
            raise ValueError(f"'{self.op}' needs a right side")
        elif (
            self.op in operators.LISTED
            and not isinstance(self.right, list)
            and not _one_reference(self.right)
        ):
            raise ValueError(f"the right side of '{self.op}' must be a list")
        elif self.op == "matches" and _is_literal(self.right):
            if not isinstance(self.right, str):
                raise ValueError("the right side of 'matches' must be a pattern (a string)")
            operators.pattern(self.right, self.ignore_case)  # a bad one is refused now
        return self


class Branch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    port: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    logic: Literal["and", "or"] = "and"
    conditions: tuple[Condition, ...] = Field(min_length=1)


class ConditionConfig(NodeConfig):
    branches: tuple[Branch, ...] = Field(min_length=1)

    @field_validator("branches")
    @classmethod
    def _ports(cls, branches: tuple[Branch, ...]) -> tuple[Branch, ...]:
        seen: set[str] = set()
        for b in branches:
            if b.port in _RESERVED_PORTS:
                raise ValueError(
                    f"port '{b.port}' is reserved (else, error and default are not branch ports)"
                )
            if b.port in seen:
                raise ValueError(f"port '{b.port}' is used by more than one branch")
            seen.add(b.port)
        return branches


Check = Callable[[Scope], bool]


def _check(c: Condition) -> Check:
    """One condition as a function of the run's pool, with everything literal prepared."""
    left, op, fold = compile_value(c.left), c.op, c.ignore_case
    if op in operators.UNARY:
        empty = op == "is_empty"
        return lambda scope: operators.is_empty(left.resolve(scope)) is empty
    right = compile_value(c.right)
    if op in operators.LISTED:
        return _membership(left, right, fold, op == "in")
    if op == "matches":
        return _matching(left, right, fold)
    test = operators.BINARY[op]
    if not right.live and op in ("==", "!="):
        wanted, same = operators.key(right.raw, fold), op == "=="
        return lambda scope: (operators.key(left.resolve(scope), fold) == wanted) is same
    return lambda scope: test(left.resolve(scope), right.resolve(scope), fold)


def _membership(left: Value, right: Value, fold: bool, inside: bool) -> Check:
    if not right.live:  # a literal list: its keys in a set, each run one lookup
        keys = frozenset(operators.key(item, fold) for item in right.raw)
        return lambda scope: (operators.key(left.resolve(scope), fold) in keys) is inside

    def check(scope: Scope) -> bool:
        items = right.resolve(scope)
        if items is None:  # a skipped node, a missing key: nothing is in it
            return not inside
        if not isinstance(items, list):
            raise ExecutionFailed(
                f"the right side of '{'in' if inside else 'not_in'}' is a {type(items).__name__}, not a list"
            )
        return operators.is_in(left.resolve(scope), items, fold) is inside

    return check


def _matching(left: Value, right: Value, fold: bool) -> Check:
    if not right.live:
        compiled = operators.pattern(right.raw, fold)
        return lambda scope: operators.matches(left.resolve(scope), compiled)

    def check(scope: Scope) -> bool:
        source = shown(right.resolve(scope))
        try:
            compiled = operators.pattern(source, fold)
        except ValueError as e:
            raise ExecutionFailed(f"matches: {e}") from None
        return operators.matches(left.resolve(scope), compiled)

    return check


def _branch(b: Branch) -> Check:
    checks = tuple(_check(c) for c in b.conditions)
    if len(checks) == 1:
        return checks[0]
    if b.logic == "and":
        return lambda scope: all(check(scope) for check in checks)
    return lambda scope: any(check(scope) for check in checks)


class ConditionNode:
    type_name: ClassVar[str] = "condition"
    instant: ClassVar[bool] = True
    config_model: ClassVar[type[NodeConfig]] = ConditionConfig

    def __init__(self, node_id: str, config: ConditionConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = config.timeout_s
        self._branches = tuple((b.port, _branch(b)) for b in config.branches)
        self._ports = frozenset(b.port for b in config.branches) | {ELSE_PORT}

    def ports(self) -> frozenset[str]:
        return self._ports

    def outputs(self) -> frozenset[str]:
        return frozenset({"port"})

    def choose(self, scope: Scope) -> str:
        """The port of the first branch that holds, else ``else``."""
        return next((port for port, holds in self._branches if holds(scope)), ELSE_PORT)

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        try:
            port = self.choose(ctx.pool)
        except ExecutionFailed as e:
            raise ExecutionFailed(f"node '{self.node_id}': {e.message}", {"node": self.node_id}) from None
        ctx.take(port)
        return {"port": port}
