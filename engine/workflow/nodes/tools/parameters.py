"""Pure conversions between a workflow's declared inputs and a tool's JSON-schema parameters,
and the reading of the arguments a model wrote."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from engine.workflow.nodes.start import InputParam

#: A model's arguments for one call, as JSON text: more is refused, not parsed.
MAX_ARGUMENT_BYTES = 64 * 1024

_JSON_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "object": {"type": "object"},
}


class BadArguments(ValueError):
    """The model's arguments cannot be used: the message goes back to it as the tool's error."""


def parameters_schema(params: Iterable[InputParam]) -> dict[str, Any]:
    """The JSON Schema of a tool whose arguments are a workflow's ``input_params``: required
    are the inputs the workflow requires and gives no default for."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for p in params:
        prop = dict(_JSON_TYPES[p.type])
        if p.description:
            prop["description"] = p.description
        if p.default is not None:
            prop["default"] = p.default
        properties[p.name] = prop
        if p.required and p.default is None:
            required.append(p.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def parse_arguments(text: str) -> dict[str, Any]:
    """The arguments as an object; empty text is no arguments (some models send it so)."""
    if len(text.encode()) > MAX_ARGUMENT_BYTES:
        raise BadArguments(f"arguments are over {MAX_ARGUMENT_BYTES} bytes")
    if not text.strip():
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadArguments("arguments are not valid JSON") from None
    if not isinstance(value, dict):
        raise BadArguments("arguments must be a JSON object")
    return value
