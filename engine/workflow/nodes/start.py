"""``start``: declares the workflow's inputs, validates and coerces them."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.errors import InvalidRequest, problem
from engine.files import MAX_FILES, is_file
from engine.workflow.nodes.base import NodeConfig, NodeContext
from engine.workflow.storable import storable_problem

ParamType = Literal["string", "number", "boolean", "object", "file", "files"]
#: The types whose values are files (`engine.files`): one, or a list of them.
FILE_TYPES = frozenset({"file", "files"})


class InputParam(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: ParamType = "string"
    required: bool = True
    default: Any = None
    description: str = ""
    # Of a file input: the media types it takes ("image/*", "application/pdf"); empty: any.
    accept: tuple[Annotated[str, Field(pattern=r"^[a-z]+/(\*|[a-z0-9][a-z0-9.+-]*)$")], ...] = Field(
        (), max_length=20
    )

    def accepts(self, mime_type: str | None) -> bool:
        if not self.accept:
            return True
        kind = (mime_type or "").split(";")[0].strip().lower()
        return any(a == kind or (a.endswith("/*") and kind.startswith(a[:-1])) for a in self.accept)

    @model_validator(mode="after")
    def _default_fits(self) -> InputParam:
        if self.accept and self.type not in FILE_TYPES:
            raise ValueError(f"input '{self.name}' is a {self.type}: only file inputs take 'accept'")
        if self.type in FILE_TYPES and self.default is not None:
            raise ValueError(f"input '{self.name}' is a {self.type}: it has no default")
        # A default of the wrong type would fail every execution that relies on it: refuse it up front.
        if self.default is not None:
            try:
                _coerce(self, self.default)
            except InvalidRequest:
                raise ValueError(
                    f"default {self.default!r} of input '{self.name}' is not a {self.type}"
                ) from None
        return self


class StartConfig(NodeConfig):
    input_params: tuple[InputParam, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> StartConfig:
        names = [p.name for p in self.input_params]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"input_params declares {sorted(dup)} more than once")
        return self


def _coerce(param: InputParam, value: Any) -> Any:
    coerced = _as_type(param, value)
    # The record stores the inputs: refuse now what could not be saved after the model ran.
    unstorable = storable_problem(coerced)
    if unstorable is not None:
        raise problem(
            ["body", "inputs", param.name],
            f"input '{param.name}' cannot be stored: {unstorable}",
            f"cannot be stored: {unstorable}",
        )
    return coerced


def _as_type(param: InputParam, value: Any) -> Any:
    converted = _CONVERSIONS[param.type](value)
    if converted is _REFUSED:
        t = _NAMED.get(param.type, f"a {param.type}")
        raise problem(["body", "inputs", param.name], f"input '{param.name}' must be {t}", f"must be {t}")
    if param.accept:
        for f in converted if param.type == "files" else [converted]:
            if not param.accepts(f["mime_type"]):
                takes = ", ".join(param.accept)
                raise problem(
                    ["body", "inputs", param.name],
                    f"input '{param.name}' takes {takes}, not {f['mime_type']}",
                    f"takes {takes}",
                )
    return converted


_NAMED = {"file": "a file", "files": f"a list of at most {MAX_FILES} files"}


_REFUSED = object()


def _to_string(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _REFUSED


def _to_number(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            number = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return _REFUSED
        if math.isfinite(number):  # "1e999" parses to inf, which JSON cannot carry
            return number
    return _REFUSED


def _to_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return _REFUSED


def _to_object(value: Any) -> Any:
    return value if isinstance(value, (dict, list)) else _REFUSED


def _to_file(value: Any) -> Any:
    """A file as the pool holds it (what the REST layer or a chat adapter stored), its keys only."""
    if not is_file(value):
        return _REFUSED
    ref = {k: value[k] for k in ("id", "name", "mime_type", "size", "url")}
    texts = (ref["name"], ref["mime_type"], ref["url"])
    if not all(isinstance(t, str) for t in texts) or not isinstance(ref["size"], int):
        return _REFUSED
    return ref


def _to_files(value: Any) -> Any:
    if not isinstance(value, list) or len(value) > MAX_FILES:
        return _REFUSED
    files = [_to_file(v) for v in value]
    return _REFUSED if any(f is _REFUSED for f in files) else files


_CONVERSIONS: dict[str, Callable[[Any], Any]] = {
    "string": _to_string,
    "number": _to_number,
    "boolean": _to_boolean,
    "object": _to_object,
    "file": _to_file,
    "files": _to_files,
}


class StartNode:
    type_name: ClassVar[str] = "start"
    instant: ClassVar[bool] = True
    config_model: ClassVar[type[NodeConfig]] = StartConfig

    def __init__(self, node_id: str, config: StartConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = config.timeout_s
        # Worked out once per workflow version: every execution asks.
        self._declared = frozenset(p.name for p in config.input_params)
        strings = [p.name for p in config.input_params if p.type == "string"]
        self._text_input = "user_input" if "user_input" in strings else (strings[0] if strings else None)
        self._file_inputs = tuple(
            (p.name, p.type == "files") for p in config.input_params if p.type in FILE_TYPES
        )
        # A default arrives as a sent value would: coerced to its type (a string input's default 0 is "0").
        self._defaults = {p.name: _coerce(p, p.default) for p in config.input_params if p.default is not None}

    def outputs(self) -> frozenset[str]:
        return self._declared

    def text_input(self) -> str | None:
        """The input a chat message fills: ``user_input`` if declared, else the first string input."""
        return self._text_input

    def file_input(self) -> tuple[str, bool] | None:
        """The input a file sent in a chat fills: the first of type ``file`` or ``files``, and
        whether it takes a list (``files``); None when the workflow takes no file."""
        return self._file_inputs[0] if self._file_inputs else None

    def param(self, name: str) -> InputParam:
        return next(p for p in self.config.input_params if p.name == name)

    def file_inputs(self) -> tuple[tuple[str, bool], ...]:
        """Every input that takes files: its name, and whether it is a list (``files``)."""
        return self._file_inputs

    def with_absent(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The inputs as nodes see them: a declared input nobody sent (optional, no
        default) is there as None, so ``{{inputs.name}}`` always resolves."""
        if len(inputs) == len(self._declared):
            return inputs
        return {p.name: inputs.get(p.name) for p in self.config.input_params}

    def coerce(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Validate the caller's inputs before anything runs; unknown inputs are refused."""
        if not raw.keys() <= self._declared:
            unknown = sorted(set(raw) - self._declared)
            declared = ", ".join(sorted(self._declared)) or "none"
            raise InvalidRequest(
                f"unknown input {unknown[0]!r}",
                [
                    {"loc": ["body", "inputs", u], "msg": f"unknown input (declared: {declared})"}
                    for u in unknown
                ],
            )
        out: dict[str, Any] = {}
        for p in self.config.input_params:
            if p.name in raw and raw[p.name] is not None:
                out[p.name] = _coerce(p, raw[p.name])
            elif p.name in self._defaults:
                out[p.name] = self._defaults[p.name]
            elif p.required:
                raise problem(["body", "inputs", p.name], f"missing required input '{p.name}'", "is required")
        return out

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        return dict(ctx.inputs)
