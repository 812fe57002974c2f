"""What each parameter type accepts from a model, and how it is described to one.

Only lossless conversions are made: the text of a number for a number ("3" → 3), a whole
float for an integer (3.0 → 3), "true"/"false" for a boolean, an option in another case for
that option, a lone string for a one-item list, a number for a string ("12345"). Anything
else of the wrong type is `REFUSED`: the node passes null on instead, never the value.
``null``, an empty string and an empty list are *absent*.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from engine.workflow.nodes.extract.config import Parameter

#: Longest text a string (or list item) may be; a longer one is refused, not cut.
MAX_STRING_CHARS = 2000
MAX_LIST_ITEMS = 100
#: Integers JSON carries exactly everywhere (and the record can store).
MAX_SAFE_INTEGER = 2**53 - 1
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class _Refused:
    __slots__ = ()

    def __repr__(self) -> str:
        return "REFUSED"


#: A value of the wrong type: never passed on.
REFUSED: Final = _Refused()


def coerce(param: Parameter, value: Any) -> Any:
    """``value`` as ``param``'s type; None when absent, `REFUSED` when of the wrong type."""
    if value is None or value == "" or value == []:
        return None
    kind = param.type
    if kind == "string":
        return _string(value)
    if kind == "number":
        return _number(value)
    if kind == "integer":
        return _integer(value)
    if kind == "boolean":
        return _boolean(value)
    if kind == "enum":
        return _option(param.options or (), value)
    return _list(value)


def _string(value: Any) -> Any:
    if _is_number(value):
        value = str(value)
    if not isinstance(value, str):
        return REFUSED
    text = value.strip()
    if len(text) > MAX_STRING_CHARS:
        return REFUSED
    return text or None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER_TEXT.fullmatch(text) or len(text) > 40:
            return REFUSED
        value = float(text) if any(c in text for c in ".eE") else int(text)
    if not _is_number(value) or (isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER):
        return REFUSED
    return value


def _integer(value: Any) -> Any:
    number = _number(value)
    if number is REFUSED:
        return REFUSED
    if isinstance(number, float):
        if not number.is_integer() or abs(number) > MAX_SAFE_INTEGER:
            return REFUSED
        return int(number)
    return number


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return REFUSED


def _option(options: tuple[str, ...], value: Any) -> Any:
    if not isinstance(value, str):
        return REFUSED
    folded = value.strip().casefold()
    return next((o for o in options if o.casefold() == folded), REFUSED)


def _list(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_LIST_ITEMS:
        return REFUSED
    items: list[str] = []
    for item in value:
        if item is None:
            continue
        text = _string(item)
        if text is REFUSED:
            return REFUSED
        if text is not None:
            items.append(text)
    return items or None


def json_type(param: Parameter) -> dict[str, Any]:
    """The parameter's JSON Schema, nullable (strict structured output wants every key, so
    absence is spelt null)."""
    kind = param.type
    schema: dict[str, Any]
    if kind == "list":
        schema = {"type": ["array", "null"], "items": {"type": "string"}}
    elif kind == "enum":
        schema = {"type": ["string", "null"], "enum": [*(param.options or ()), None]}
    else:
        schema = {"type": [kind, "null"]}
    if param.description:
        schema["description"] = param.description
    return schema


def shown_type(param: Parameter) -> str:
    """The type as the prompt tells it."""
    if param.type == "enum":
        return "one of: " + ", ".join(f'"{o}"' for o in param.options or ())
    if param.type == "list":
        return "list of strings"
    return param.type
