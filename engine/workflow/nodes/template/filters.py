"""The filters a ``template`` may use: Jinja's own, each with its result's size checked, and
those whose arguments size their output checked before they build it.

Left out: ``urlize`` (regular-expression work over the whole text), ``striptags``
(quadratic on many tags), ``pprint`` and ``xmlattr`` (of no use for chat text).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import filters as jinja
from jinja2.exceptions import FilterArgumentError
from jinja2.utils import pass_environment, pass_eval_context

from engine.workflow.nodes.template import guards

_LEFT_OUT = frozenset({"urlize", "striptags", "pprint", "xmlattr"})
_MAX_JSON_INDENT = 8


def _width(n: Any, what: str) -> None:
    size = len(n) if isinstance(n, str) else n
    if isinstance(size, int) and size > guards.MAX_WIDTH:
        raise guards.TemplateLimit(f"{what} {size} is over {guards.MAX_WIDTH}")


def _parts(n: Any, what: str) -> None:
    if isinstance(n, int) and n > guards.MAX_PARTS:
        raise guards.TemplateLimit(f"{what} of {n} is over {guards.MAX_PARTS}")


def center(value: Any, width: int = 80) -> str:
    _width(width, "a center width of")
    return jinja.do_center(value, width)


def indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    _width(width, "an indent of")
    text = str(s)
    pad = len(width) if isinstance(width, str) else width
    guards.sized(len(text) + (text.count("\n") + 1) * max(pad, 0), "string")
    return jinja.do_indent(text, width, first, blank)


@pass_environment
def truncate(
    env: Any, s: str, length: int = 255, killwords: bool = False, end: str = "...", leeway: Any = None
) -> str:
    _width(end, "a truncation end of length")
    return jinja.do_truncate(env, s, length, killwords, end, leeway)


@pass_environment
def wordwrap(
    env: Any,
    s: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    _width(width, "a wrap width of")
    _width(wrapstring or "", "a wrap string of length")
    text = str(s)
    lines = len(text) // max(width, 1) + text.count("\n") + 1
    guards.sized(len(text) + lines * len(wrapstring or env.newline_sequence), "string")
    return jinja.do_wordwrap(env, text, width, break_long_words, wrapstring, break_on_hyphens)


def format_(value: Any, *args: Any, **kwargs: Any) -> str:
    if args and kwargs:
        raise FilterArgumentError("can't handle positional and keyword arguments at the same time")
    return guards.percent_format(str(value), kwargs or args)


@pass_eval_context
def replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    return guards.replaced(str(s), str(old), str(new), -1 if count is None else count)


@pass_eval_context
def join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    if attribute is not None:
        value = map(jinja.make_attrgetter(eval_ctx.environment, attribute), value)
    return guards.joined(str(d), value)


@pass_eval_context
def tojson(eval_ctx: Any, value: Any, indent: int | None = None) -> Any:
    if indent is not None and indent > _MAX_JSON_INDENT:
        raise guards.TemplateLimit(f"a tojson indent of {indent} is over {_MAX_JSON_INDENT}")
    return jinja.do_tojson(eval_ctx, value, indent)


def batch(value: Any, linecount: int, fill_with: Any = None) -> Any:
    _parts(linecount, "a batch size")  # the last batch is filled up to it
    return jinja.do_batch(value, linecount, fill_with)


def slice_(value: Any, slices: int, fill_with: Any = None) -> Any:
    _parts(slices, "a slice count")
    return jinja.do_slice(value, slices, fill_with)


_BOUNDED: dict[str, Callable[..., Any]] = {
    "center": center,
    "indent": indent,
    "truncate": truncate,
    "wordwrap": wordwrap,
    "format": format_,
    "replace": replace,
    "join": join,
    "tojson": tojson,
    "batch": batch,
    "slice": slice_,
}

#: Every filter a template may use, by name.
FILTERS: dict[str, Callable[..., Any]] = {
    name: guards.checked_result(_BOUNDED.get(name, f))
    for name, f in jinja.FILTERS.items()
    if name not in _LEFT_OUT
}
