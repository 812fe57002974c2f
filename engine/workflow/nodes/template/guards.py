"""Bounds on what one render of a ``template`` node may cost: time, steps and sizes.

A template is written by a workflow author, and so is hostile: a nested loop, recursion
through a macro, a string doubled forty times or a filter asked for a width of a billion
must fail fast instead of hanging the server or eating its memory. The sandbox already
refuses unsafe attributes; these guards bound the rest:

- every loop iteration and macro call takes a *step* (the template is rewritten so each
  loop body and macro body starts by taking one); ``range`` takes one per number;
- every string or list that an operator, a filter or a method builds is at most
  ``MAX_VALUE`` long, checked *before* it is built where its size is an argument
  (repetition, padding, joins, replacements), and every text written anywhere (into the
  output or into a ``{% set %}`` block) counts toward ``MAX_PRODUCED`` characters;
- integers stay within ``MAX_INT_BITS`` bits; a render ends at ``MAX_RENDER_S`` seconds,
  checked at each step, each output, each filter and each operator.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

MAX_STEPS = 100_000
MAX_VALUE = 100_000  # characters of a string, items of a list
MAX_PRODUCED = 1_000_000  # characters written in one render, captured ones included
MAX_OUTPUT = 100_000  # characters of the rendered text
MAX_INT_BITS = 4096
MAX_WIDTH = 1000  # padding, indentation, format widths and precisions
MAX_PARTS = 1000  # batch sizes, slice counts
MAX_RENDER_S = 1.0


class TemplateLimit(Exception):
    """A render went past one of its bounds."""


class Budget:
    """One render's allowance; the guards find it through ``CURRENT``."""

    __slots__ = ("deadline", "produced", "steps")

    def __init__(self, seconds: float = MAX_RENDER_S) -> None:
        self.deadline = time.monotonic() + seconds
        self.steps = 0
        self.produced = 0

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimit(f"the template took longer than {MAX_RENDER_S:g}s to render")

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > MAX_STEPS:
            raise TemplateLimit(f"the template took more than {MAX_STEPS} loop iterations and calls")
        self.check_time()

    def produce(self, chars: int) -> None:
        self.produced += chars
        if self.produced > MAX_PRODUCED:
            raise TemplateLimit(f"the template wrote more than {MAX_PRODUCED} characters")
        self.check_time()


#: The budget of the render running in this context (None while a template is compiled,
#: when the compiler folds constants: sizes are still checked then).
CURRENT: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


def _check_time() -> None:
    budget = CURRENT.get()
    if budget is not None:
        budget.check_time()


def step() -> str:
    """Taken at the start of each loop body and macro body (the rewrite inserts the call)."""
    budget = CURRENT.get()
    if budget is not None:
        budget.step()
    return ""


def produced(chars: int) -> None:
    budget = CURRENT.get()
    if budget is not None:
        budget.produce(chars)


def sized(length: int, what: str = "value") -> None:
    """Refuse a string or list of ``length`` before it is built."""
    if length > MAX_VALUE:
        raise TemplateLimit(f"the template would build a {what} of {length} items, over {MAX_VALUE}")


def _bits(n: int, what: str) -> None:
    if n > MAX_INT_BITS:
        raise TemplateLimit(f"the template would build a number of {n} bits ({what}), over {MAX_INT_BITS}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _repeat_count(seq: Any, n: Any) -> int | None:
    if isinstance(seq, (str, list, tuple)) and _is_int(n):
        return len(seq) * max(int(n), 0)
    return None


def multiply(left: Any, right: Any) -> Any:
    count = _repeat_count(left, right)
    if count is None:
        count = _repeat_count(right, left)
    if count is not None:
        sized(count)
        produced(count)
    elif _is_int(left) and _is_int(right):
        _bits(left.bit_length() + right.bit_length(), "a product")
    return left * right


def power(left: Any, right: Any) -> Any:
    if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
        _bits(left.bit_length() * right, "a power")
    return left**right


def add(left: Any, right: Any) -> Any:
    if isinstance(left, (str, list, tuple)) and type(left) is type(right):
        sized(len(left) + len(right))
        produced(len(left) + len(right))
    return left + right


def _digits(fmt: str, i: int) -> tuple[str, int]:
    if i < len(fmt) and fmt[i] == "*":
        return "*", i + 1
    j = i
    while j < len(fmt) and fmt[j].isdigit():
        j += 1
    return fmt[i:j], j


def _conversions(fmt: str) -> Iterable[tuple[str, str, str]]:
    """Each %-conversion's width, precision and type, in one pass over ``fmt``."""
    i, n = 0, len(fmt)
    while (i := fmt.find("%", i)) >= 0:
        i += 1
        if i < n and fmt[i] == "(":
            close = fmt.find(")", i)
            if close < 0:  # Python refuses the format itself
                return
            i = close + 1
        while i < n and fmt[i] in "#0 +-":
            i += 1
        width, i = _digits(fmt, i)
        precision = ""
        if i < n and fmt[i] == ".":
            precision, i = _digits(fmt, i + 1)
        while i < n and fmt[i] in "hlL":
            i += 1
        yield width, precision, fmt[i : i + 1]
        i += 1


def percent_format(fmt: str, args: Any) -> str:
    """``fmt % args`` once no conversion could pad or print past the bounds."""
    specs = 0
    for width, precision, kind in _conversions(fmt):
        if kind == "%":
            continue
        for n in (width, precision):
            if n == "*":
                raise TemplateLimit("a '*' width or precision is not allowed in a format")
            if len(n) > 4 or (n and int(n) > MAX_WIDTH):
                raise TemplateLimit(f"a format width or precision of {n} is over {MAX_WIDTH}")
        specs += 1
    values = args.values() if isinstance(args, dict) else args if isinstance(args, tuple) else (args,)
    longest = max((len(str(v)) for v in values), default=0)
    sized(len(fmt) + specs * (MAX_WIDTH + longest), "formatted text")
    text: str = fmt % args
    return text


def modulo(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        return percent_format(left, right)
    return left % right


BINOPS: dict[str, Callable[[Any, Any], Any]] = {"*": multiply, "**": power, "+": add, "%": modulo}


def binop(operator: str, left: Any, right: Any) -> Any:
    _check_time()
    return BINOPS[operator](left, right)


def concat(*parts: Any) -> str:
    """``a ~ b ~ c`` with its length checked before it is joined."""
    texts = [p if isinstance(p, str) else str(p) for p in parts]
    total = sum(map(len, texts))
    sized(total, "string")
    produced(total)
    return "".join(texts)


def bounded_range(*args: int) -> range:
    numbers = range(*args)
    sized(len(numbers), "range")
    budget = CURRENT.get()
    if budget is not None:
        budget.step(len(numbers))
    return numbers


def joined(sep: str, items: Iterable[Any]) -> str:
    """``sep.join(items)``, stopped as soon as the text would pass the bound (a lazy
    ``map`` can make each item large: they are not all built first)."""
    texts: list[str] = []
    total = 0
    for item in items:
        text = item if isinstance(item, str) else str(item)
        total += len(text) + (len(sep) if texts else 0)
        sized(total, "string")
        texts.append(text)
    produced(total)
    return sep.join(texts)


def replaced(s: str, old: str, new: str, count: int = -1) -> str:
    found = s.count(old) if old else len(s) + 1
    if count is not None and count >= 0:
        found = min(found, count)
    total = len(s) + found * max(len(new) - len(old), 0)
    sized(total, "string")
    produced(total)
    return s.replace(old, new, -1 if count is None else count)


def checked_result(func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose result's size is checked and counted (for filters that grow their
    input at most a few times over, checking after is enough), and that ends a render out
    of time."""

    @functools.wraps(func)  # keeps jinja_pass_arg: the filter still gets its context
    def checked(*args: Any, **kwargs: Any) -> Any:
        _check_time()
        result = func(*args, **kwargs)
        if isinstance(result, (str, list, tuple, dict)):
            sized(len(result))
            produced(len(result))
        return result

    return checked
