"""``code``: runs the author's ``def main(inputs: dict) -> dict`` in a sandbox.

The code never runs in the server: validation only compiles it (to name the line of a
syntax error, and to see that it defines ``main``), and a run goes to the ``SANDBOX``
service (`engine.sandbox.Sandbox`, registered by the gateway). Outputs are the keys
``main`` returns: open, like a called workflow's, unless ``outputs`` declares them, and
then references to them are checked and ``main`` must give each. What the code prints
is kept on the execution record as the node's ``logs``, never sent to the chat.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

from pydantic import Field, field_validator

from engine.errors import (
    CodeError,
    CodeKilled,
    CodeMemoryExceeded,
    CodeOutputInvalid,
    CodeTimeout,
    SandboxUnavailable,
)
from engine.workflow.nodes.base import NodeConfig, NodeContext, ServiceKey
from engine.workflow.templates import compile_value

FailureKind = Literal["exception", "invalid", "output", "memory", "timeout", "killed", "input"]


@dataclass(frozen=True, slots=True)
class CodeFailure:
    kind: FailureKind
    message: str  # says what happened, without the node (the node adds it)
    line: int | None = None  # in the author's code, when the failure has one


@dataclass(frozen=True, slots=True)
class CodeRun:
    """One run's result: ``outputs`` (what ``main`` returned) or ``failure``, and the prints."""

    outputs: dict[str, Any] | None
    logs: str
    failure: CodeFailure | None = None


class CodeRunner(Protocol):
    """Runs code somewhere it cannot reach the server; `SandboxUnavailable` where it cannot."""

    @property
    def timeout_s(self) -> float:
        """The longest a run may take (the admin's ``code.timeout_s``)."""
        ...

    async def run(self, code: str, inputs: dict[str, Any], timeout_s: float) -> CodeRun: ...


SANDBOX: ServiceKey[CodeRunner] = ServiceKey("sandbox")

_NAME = re.compile(r"[A-Za-z0-9_-]+")  # what {{node.name}} can spell

_ERRORS = {
    "exception": CodeError,
    "invalid": CodeError,
    "input": CodeError,
    "output": CodeOutputInvalid,
    "memory": CodeMemoryExceeded,
    "timeout": CodeTimeout,
    "killed": CodeKilled,
}


class CodeConfig(NodeConfig):
    code: str = Field(min_length=1)
    inputs: dict[str, Any] = Field(default_factory=dict)  # each value a literal or holding references
    # The keys main returns, when declared: references to the node are checked against them.
    outputs: tuple[str, ...] | None = None

    @field_validator("code")
    @classmethod
    def _defines_main(cls, code: str) -> str:
        check_code(code)
        return code

    @field_validator("outputs")
    @classmethod
    def _names(cls, outputs: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for name in outputs or ():
            if not _NAME.fullmatch(name):
                raise ValueError(f"output name {name!r} is not a name (letters, digits, _ and -)")
        if outputs is not None and len(set(outputs)) != len(outputs):
            raise ValueError("outputs names each output once")
        return outputs


def check_code(code: str) -> None:
    """Compile only (nothing runs): a syntax error names its line; ``main`` must be defined."""
    try:
        tree = ast.parse(code, "<code>")  # compile() to a tree; nothing runs
        compile(tree, "<code>", "exec", dont_inherit=True)
    except SyntaxError as e:
        raise ValueError(f"the code does not compile: {e.msg} (line {e.lineno})") from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise ValueError(f"the code does not compile: {type(e).__name__}") from None
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    if not mains:
        raise ValueError("the code must define a function main(inputs) at its top level")
    if not mains[-1].args.args and not mains[-1].args.vararg:
        line = mains[-1].lineno
        raise ValueError(f"main must take the inputs as its argument: def main(inputs) (line {line})")


class CodeNode:
    type_name: ClassVar[str] = "code"
    instant: ClassVar[bool] = False
    config_model: ClassVar[type[NodeConfig]] = CodeConfig

    def __init__(self, node_id: str, config: CodeConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = None  # the sandbox keeps the time; the engine's node limit is the backstop
        self.open_outputs = config.outputs is None
        self._inputs = compile_value(config.inputs)

    def outputs(self) -> frozenset[str]:
        return frozenset(self.config.outputs or ())

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        runner = ctx.service(SANDBOX)
        asked = self.config.timeout_s
        limit = runner.timeout_s if asked is None else min(asked, runner.timeout_s)
        try:
            done = await runner.run(self.config.code, ctx.resolve(self._inputs), limit)
        except SandboxUnavailable as e:  # fail closed, saying what the host lacks
            details = {"node": self.node_id, "reason": e.code}
            raise SandboxUnavailable(f"node '{self.node_id}': {e.message}", details) from None
        ctx.logs = done.logs
        if done.failure is not None:
            raise self._failed(done.failure)
        assert done.outputs is not None
        if self.config.outputs is None:
            return done.outputs
        missing = [name for name in self.config.outputs if name not in done.outputs]
        if missing:
            lacking = f"main returned no '{missing[0]}' (declared in outputs)"
            raise self._failed(CodeFailure("output", lacking))
        return {name: done.outputs[name] for name in self.config.outputs}

    def _failed(self, failure: CodeFailure) -> CodeError:
        where = f" (line {failure.line})" if failure.line is not None else ""
        error = _ERRORS[failure.kind]
        # ``reason``: the same code where only the details are read (a branch, the record).
        details: dict[str, Any] = {"node": self.node_id, "reason": error.code}
        if failure.line is not None:
            details["line"] = failure.line
        return error(f"node '{self.node_id}': {failure.message}{where}", details)
