"""The offline ``echo`` model's reading of a sentence: a few plain rules, no guessing.

1. ``name: value`` or ``name = value`` (the name case-insensitively, ``_`` in it matching a
   space or ``-`` as well): the value runs to the next ``,`` ``;`` or line end, trailing
   ``.!?`` dropped. A list takes every such pair (``topping: ham, topping: egg``).
2. An enum without a pair: the option that occurs first in the input, as a whole word.
3. The only number or integer parameter, without a pair: the first number in the input
   outside the pairs (a number inside a word such as ``A-1234`` does not count).

What a rule finds is then checked like a model's answer (``values.coerce``).
"""

from __future__ import annotations

import re
from typing import Any

from engine.workflow.nodes.extract.config import Parameter

_NUMBER = re.compile(r"(?<![\w.-])-?\d+(?:\.\d+)?(?!\w|\.\d)")


def _pair(name: str) -> re.Pattern[str]:
    spelt = r"[ _-]".join(re.escape(part) for part in name.split("_"))
    return re.compile(r"(?<![A-Za-z0-9_])" + spelt + r"\s*[:=]\s*([^,;\n]*)", re.IGNORECASE)


def _words(options: tuple[str, ...]) -> re.Pattern[str]:
    """Any option as a whole word, the longest first; group ``o<i>`` is ``options[i]``."""
    longest = sorted(range(len(options)), key=lambda i: len(options[i]), reverse=True)
    alternatives = "|".join(f"(?P<o{i}>{re.escape(options[i])})" for i in longest)
    return re.compile(r"(?<!\w)(?:" + alternatives + r")(?!\w)", re.IGNORECASE)


class OfflineReader:
    """Prepared once per workflow version: the patterns of every parameter."""

    def __init__(self, parameters: tuple[Parameter, ...]) -> None:
        self._pairs = tuple((p, _pair(p.name)) for p in parameters)
        self._options = {
            p.name: (p.options, _words(p.options)) for p in parameters if p.type == "enum" and p.options
        }
        numeric = [p.name for p in parameters if p.type in ("number", "integer")]
        self._lone_number = numeric[0] if len(numeric) == 1 else None

    def read(self, text: str) -> dict[str, Any]:
        """What the rules find, by parameter name, as text (a list as a list of texts)."""
        found: dict[str, Any] = {}
        spans: list[tuple[int, int]] = []
        for p, pattern in self._pairs:
            values = []
            for m in pattern.finditer(text):
                spans.append(m.span())
                values.append(m.group(1).strip().rstrip(".!?").strip())
            if values:
                found[p.name] = values if p.type == "list" else values[0]
        for name, (options, pattern) in self._options.items():
            if name not in found:
                option = pattern.search(text)
                if option is not None:  # the option as configured: the match may be spelt otherwise
                    found[name] = options[int((option.lastgroup or "o0")[1:])]
        if self._lone_number is not None and self._lone_number not in found:
            rest = list(text)
            for start, end in spans:  # a pair's number is that pair's
                rest[start:end] = " " * (end - start)
            number = _NUMBER.search("".join(rest))
            if number is not None:
                found[self._lone_number] = number.group(0)
        return found
