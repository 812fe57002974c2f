"""``template``: Jinja2 text in an immutable sandbox, with the same variables as references.

A template sees ``inputs``, ``session``, ``sys`` and each node's outputs by node id (and
every node, whatever its id, as ``nodes["id"]``); a skipped node or a missing key renders
as nothing. Values are data: what a user typed is never evaluated as a template.

It is compiled once per workflow version, rewritten so that every loop body and macro
body takes a step of the render's budget and every ``~`` is size-checked, and rendered
in a thread under the bounds of `engine.workflow.nodes.template.guards`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer
from pydantic import Field

from engine.errors import ExecutionFailed
from engine.workflow.nodes.base import NodeConfig, NodeContext
from engine.workflow.nodes.template import guards
from engine.workflow.nodes.template.filters import FILTERS
from engine.workflow.templates import Ref, Scope, shown

_STEP = "__cg_step"
_CONCAT = "__cg_concat"
#: Roots of the pool that are not nodes.
_NOT_NODES = frozenset({"inputs", "session", "sys"})
#: Names Jinja gives meaning to inside a template: never a node reference.
_JINJA_NAMES = frozenset({"loop", "caller", "varargs", "kwargs", "self", "super", "nodes"})

# Methods a template may call on strings, lists and mappings: none of them builds more
# than its receiver holds. ``join`` and ``replace`` are checked; padding (ljust, center,
# zfill, expandtabs…), format and translate are not offered.
_SAFE_METHODS = frozenset(
    {
        "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha",
        "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable",
        "isspace", "istitle", "isupper", "lower", "lstrip", "partition", "removeprefix",
        "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines",
        "startswith", "strip", "swapcase", "title", "upper", "keys", "values", "items", "get",
        "copy", "bit_length", "is_integer",
    }
)  # fmt: skip


class TemplateConfig(NodeConfig):
    template: str = Field(max_length=guards.MAX_VALUE)


class _Guarded(NodeTransformer):
    """Rewrites a parsed template: a step at the start of each loop and macro body, ``~``
    through a size check; refuses what would reach outside (includes, imports) or shadow
    the guards."""

    def __init__(self) -> None:
        self.assigned: set[str] = set()

    def _step(self, lineno: int) -> nodes.Node:
        return nodes.ExprStmt(nodes.Call(nodes.Name(_STEP, "load"), [], [], None, None), lineno=lineno)

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.body.insert(0, self._step(node.lineno))
        return node

    def visit_Macro(self, node: nodes.Macro) -> nodes.Node:
        self._name(node.name, node.lineno)
        self.generic_visit(node)
        node.body.insert(0, self._step(node.lineno))
        return node

    def visit_CallBlock(self, node: nodes.CallBlock) -> nodes.Node:
        self.generic_visit(node)
        node.body.insert(0, self._step(node.lineno))
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        call = nodes.Call(nodes.Name(_CONCAT, "load"), list(node.nodes), [], None, None)
        return call.set_lineno(node.lineno)

    def visit_Name(self, node: nodes.Name) -> nodes.Node:
        if node.ctx in ("store", "param"):
            self._name(node.name, node.lineno)
        return node

    def _name(self, name: str, lineno: int) -> None:
        if name.startswith("__cg"):
            raise ValueError(f"'template' line {lineno}: the name '{name}' is reserved")
        self.assigned.add(name)

    def _outside(self, node: nodes.Node) -> nodes.Node:
        raise ValueError(f"'template' line {node.lineno}: a template cannot include, import or extend others")

    visit_Include = visit_Import = visit_FromImport = visit_Extends = _outside


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with its operators, calls and output bounded."""

    intercepted_binops = frozenset(guards.BINOPS)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        return guards.binop(operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # A key before a method: ``inputs.items`` is the input named items, not dict.items.
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        if isinstance(obj, str) and attribute in ("format", "format_map"):
            # str.format pads to any width it is given; the format filter is bounded.
            raise SecurityError("str.format is not available in templates; use the format filter or ~")
        return super().getattr(obj, attribute)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        receiver = getattr(__obj, "__self__", None)
        if inspect.isbuiltin(__obj) and receiver is not None:
            name = __obj.__name__
            if name == "join" and isinstance(receiver, str) and len(args) == 1 and not kwargs:
                return guards.joined(receiver, args[0])
            if name == "replace" and isinstance(receiver, str) and not kwargs:
                return guards.replaced(receiver, *args)
            if name not in _SAFE_METHODS:
                raise SecurityError(f"the method {name}() is not available in templates")
        if __obj is not guards.step:  # a loop or macro body's own step is taken once
            guards.step()
        return super().call(__context, __obj, *args, **kwargs)


def _finalize(value: Any) -> str:
    """Each ``{{ … }}`` as text, the way references show values; counted toward the budget."""
    text = "" if isinstance(value, Undefined) else shown(value)
    guards.produced(len(text))
    return text


def _environment() -> _Sandbox:
    env = _Sandbox(undefined=ChainableUndefined, finalize=_finalize, autoescape=False)
    env.filters = dict(FILTERS)
    env.globals.pop("lipsum", None)  # sized by its arguments, and of no use to a chat bot
    env.globals.update({"range": guards.bounded_range, _STEP: guards.step, _CONCAT: guards.concat})
    return env


_ENV = _environment()


def _references(tree: nodes.Template, assigned: set[str]) -> Iterator[Ref]:
    """``name.field`` and ``nodes["id"].field`` for names the template never assigns:
    what the graph checks as it checks ``{{node_id.field}}`` references."""
    called = {id(call.node) for call in tree.find_all(nodes.Call) if isinstance(call, nodes.Call)}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, (nodes.Getattr, nodes.Getitem))
        holder, field = node.node, _field(node)
        if field is None or id(node) in called:  # ``left.items()``: a method, not an output
            continue
        if isinstance(holder, nodes.Name):
            if holder.name not in assigned and holder.name not in _JINJA_NAMES and holder.ctx == "load":
                yield Ref(holder.name, field)
        elif _is_nodes(holder, assigned):
            assert isinstance(holder, (nodes.Getattr, nodes.Getitem))
            node_id = _field(holder)
            if node_id is not None:
                yield Ref(node_id, field)


def _is_nodes(holder: nodes.Node, assigned: set[str]) -> bool:
    """``nodes.x`` or ``nodes["x"]``: a node by its id."""
    if not isinstance(holder, (nodes.Getattr, nodes.Getitem)) or "nodes" in assigned:
        return False
    inner = holder.node
    return isinstance(inner, nodes.Name) and inner.name == "nodes"


def _field(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if (
        isinstance(node, nodes.Getitem)
        and isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
    ):
        return node.arg.value
    return None


def compile_template(source: str) -> tuple[Template, tuple[Ref, ...]]:
    """The template compiled with its guards, and the references it makes; ValueError
    naming the line if it cannot be."""
    try:
        tree = _ENV.parse(source)
        rewrite = _Guarded()
        rewrite.visit(tree)
        tree.set_environment(_ENV)
        refs = tuple(dict.fromkeys(_references(tree, rewrite.assigned)))
        return _ENV.from_string(tree), refs
    except TemplateSyntaxError as e:
        raise ValueError(f"'template' line {e.lineno}: {e.message}") from None
    except (RecursionError, SyntaxError, MemoryError):  # nesting deeper than Python compiles
        raise ValueError("'template' is nested too deeply") from None


def _variables(pool: Scope) -> dict[str, Any]:
    found: dict[str, Any] = {}
    by_id: dict[str, Mapping[str, Any]] = {}
    for name, value in pool.items():
        if name not in _NOT_NODES:
            by_id[name] = value
        if not name.startswith("__"):  # never shadow a guard
            found[name] = value
    found["nodes"] = by_id
    return found


def render(template: Template, pool: Scope) -> str:
    """One bounded render; ``TemplateLimit`` or the template's own error if it fails."""
    budget = guards.Budget()
    token = guards.CURRENT.set(budget)
    try:
        chunks: list[str] = []
        size = 0
        for chunk in template.generate(_variables(pool)):
            size += len(chunk)
            if size > guards.MAX_OUTPUT:
                raise guards.TemplateLimit(f"the rendered text is longer than {guards.MAX_OUTPUT} characters")
            chunks.append(chunk)
        return "".join(chunks)
    finally:
        guards.CURRENT.reset(token)


class TemplateNode:
    type_name: ClassVar[str] = "template"
    instant: ClassVar[bool] = False  # rendered in a thread: a heavy template never stalls the loop
    config_model: ClassVar[type[NodeConfig]] = TemplateConfig

    def __init__(self, node_id: str, config: TemplateConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = config.timeout_s
        self._template, self._refs = compile_template(config.template)

    def outputs(self) -> frozenset[str]:
        return frozenset({"text"})

    def references(self) -> tuple[Ref, ...]:
        """What the template reads, for the graph to check (its Jinja is not ``{{ref}}`` text)."""
        return self._refs

    def render(self, pool: Scope) -> str:
        try:
            return render(self._template, pool)
        except RecursionError:
            raise ExecutionFailed(
                f"node '{self.node_id}': the template recursed too deeply", {"node": self.node_id}
            ) from None
        except Exception as e:  # a template's own failure (a bound, a bad filter call, 1/0)
            raise ExecutionFailed(
                f"node '{self.node_id}': the template failed: {e}", {"node": self.node_id}
            ) from None

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        return {"text": await asyncio.to_thread(self.render, ctx.pool)}
