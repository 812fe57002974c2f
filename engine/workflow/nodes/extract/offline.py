"""The offline ``echo`` model's reading of a sentence: a few plain rules, no guessing.

1. ``name: value`` or ``name = value`` (the name case-insensitively, ``_`` in it matching a
   space or ``-`` as well): the value runs to the next ``,`` ``;`` or line end, trailing
   ``.!?`` dropped. A list takes every such pair (``topping: ham, topping: egg``).
2. An enum without a pair: the option that occurs first in the input, as a whole word.
3. The only number or integer parameter, without a pair: the first number in the input
   outside the pairs (a number inside a word such as ``A-1234`` does not count).

What a rule finds is then checked like a model's answer (``values.coerce``).

Each rule is one pass of one pattern of plain alternatives (no group per alternative: that
would cost Python's ``re`` its literal-prefix scan, tens of milliseconds on a long input);
which name or option matched is read from the matched text.
"""

from __future__ import annotations

import re
from typing import Any

from engine.workflow.nodes.extract.config import Parameter

_NUMBER = re.compile(r"(?<![\w.-])-?\d+(?:\.\d+)?(?!\w|\.\d)")
_SEPARATOR = re.compile(r"[ _-]")


def _spelt(name: str) -> str:
    return r"[ _-]".join(re.escape(part) for part in name.split("_"))


def _pairs(names: list[str]) -> re.Pattern[str]:
    """Any parameter's ``name: value``; names are ASCII, and so is their case-insensitivity."""
    longest = sorted(names, key=len, reverse=True)
    return re.compile(
        r"(?<![A-Za-z0-9_])(" + "|".join(map(_spelt, longest)) + r")\s*[:=]\s*([^,;\n]*)",
        re.IGNORECASE | re.ASCII,
    )


class _Options:
    """An enum's options as whole words; what matched is mapped back to the option."""

    def __init__(self, options: tuple[str, ...]) -> None:
        self.options = options
        longest = sorted(options, key=len, reverse=True)
        self.pattern = re.compile(
            r"(?<!\w)(?:" + "|".join(map(re.escape, longest)) + r")(?!\w)", re.IGNORECASE
        )
        self.by_folded = {o.casefold(): o for o in options}

    def first(self, text: str) -> str | None:
        found = self.pattern.search(text)
        if found is None:
            return None
        said = found.group(0)
        known = self.by_folded.get(said.casefold())
        if known is not None:
            return known
        # re's case folding is not str.casefold (a dotless ı matches i): ask re which it was.
        return next((o for o in self.options if re.fullmatch(re.escape(o), said, re.IGNORECASE)), None)


class OfflineReader:
    """Prepared once per workflow version: the patterns of every parameter."""

    def __init__(self, parameters: tuple[Parameter, ...]) -> None:
        self._params = {p.name.lower(): p for p in parameters}
        self._pairs = _pairs([p.name for p in parameters])
        self._options = {p.name: _Options(p.options) for p in parameters if p.type == "enum" and p.options}
        numeric = [p.name for p in parameters if p.type in ("number", "integer")]
        self._lone_number = numeric[0] if len(numeric) == 1 else None

    def read(self, text: str) -> dict[str, Any]:
        """What the rules find, by parameter name, as text (a list as a list of texts)."""
        found: dict[str, Any] = {}
        spans: list[tuple[int, int]] = []
        for m in self._pairs.finditer(text):
            spans.append(m.span())
            p = self._params.get(_SEPARATOR.sub("_", m.group(1).lower()))
            if p is None:  # cannot be: the pattern holds only these names
                continue
            value = m.group(2).strip().rstrip(".!?").strip()
            if p.type == "list":
                found.setdefault(p.name, []).append(value)
            else:
                found.setdefault(p.name, value)
        for name, options in self._options.items():
            if name not in found:
                option = options.first(text)
                if option is not None:
                    found[name] = option
        if self._lone_number is not None and self._lone_number not in found:
            rest = list(text)
            for start, end in spans:  # a pair's number is that pair's
                rest[start:end] = " " * (end - start)
            number = _NUMBER.search("".join(rest))
            if number is not None:
                found[self._lone_number] = number.group(0)
        return found
