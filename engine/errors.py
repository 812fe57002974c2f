"""The one exception hierarchy of chatgate.

Each class carries its machine-readable ``code``; the HTTP front door maps
classes to status codes in one table and the chat router maps them to short
human messages in another. Messages never contain secrets.
"""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ChatgateError(Exception):
    code = "internal_error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def envelope(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidRequest(ChatgateError):
    code = "invalid_request"


class InvalidWorkflow(ChatgateError):
    code = "invalid_workflow"


class Unauthorized(ChatgateError):
    code = "unauthorized"


class Forbidden(ChatgateError):
    code = "forbidden"


class NotFound(ChatgateError):
    code = "not_found"


class Conflict(ChatgateError):
    """The request clashes with what exists (e.g. a key name that is taken)."""

    code = "conflict"


class AskedSomeoneElse(Conflict):
    """A session's execution waits for one user's answer, and another user wrote (a group)."""

    def __init__(self, message: str, details: Any = None, *, asked: str | None = None) -> None:
        super().__init__(message, details)
        self.asked = asked  # the name of the user asked, when known


class PayloadTooLarge(ChatgateError):
    code = "payload_too_large"


class RateLimited(ChatgateError):
    code = "rate_limit_exceeded"

    def __init__(self, message: str, details: Any = None, *, retry_after: int, reset_at: int) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after
        self.reset_at = reset_at


class Unavailable(ChatgateError):
    """A shared service (Redis, the database) cannot be reached right now; retry later."""

    code = "service_unavailable"


class _OfAnExecution(ChatgateError):
    """An error that ended an execution: its body names the execution, which was recorded."""

    def __init__(self, message: str, details: Any = None, *, execution_id: str | None = None) -> None:
        super().__init__(message, details)
        self.execution_id = execution_id

    def envelope(self) -> dict[str, Any]:
        body = super().envelope()
        if self.execution_id:
            body["execution_id"] = self.execution_id
            body["status"] = "failed"
        return body


class ExecutionFailed(_OfAnExecution):
    """The workflow started but could not finish (the model failed or refused)."""

    code = "execution_failed"


class ExecutionCrashed(_OfAnExecution):
    """A bug: an unexpected exception inside a node or the runner. Logged with its
    traceback on the server; the caller learns only that it was ours, and which run."""

    code = "internal_error"


class ExecutionTimeout(ExecutionFailed):
    """A node or the whole execution ran past its time limit."""


def parse_request(model: type[M], data: Any) -> M:
    """Validate caller-supplied data; every problem is listed in the `InvalidRequest`, the first
    one names the field in the message."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise invalid_request(e, model) from None


# pydantic's wording for a JSON client: the types are JSON's, not Python's.
_WORDING = {
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "list_type": "must be an array",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "missing": "is required",
}


_BOUNDS = {
    "greater_than_equal": "at least",
    "less_than_equal": "at most",
    "greater_than": "more than",
    "less_than": "less than",
}


def invalid_request(error: ValidationError, model: type[BaseModel] | None = None) -> InvalidRequest:
    """A pydantic `ValidationError` as the API tells it: ``details`` lists ``{loc, msg}`` for
    every problem (``loc`` starting at ``"body"``); an unknown field close to a known one
    suggests it (``input`` → ``inputs``)."""
    fields = _field_names(model)
    problems: list[dict[str, Any]] = []
    for err in error.errors():
        loc = list(err["loc"])
        kind = err["type"]
        if kind in ("model_type", "model_attributes_type", "dict_type") and not loc:
            msg = f"expected a JSON object, got {_json_type(err.get('input'))}"
        elif kind == "extra_forbidden":
            close = difflib.get_close_matches(str(loc[-1]), fields, n=1) if len(loc) == 1 else []
            msg = "unknown field" + (f"; did you mean '{close[0]}'?" if close else "")
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            bound = next(iter(err.get("ctx", {}).values()), "")
            msg = f"must be {_BOUNDS[kind]} {bound}"
        else:
            msg = _WORDING.get(kind, err["msg"])
        problems.append({"loc": ["body", *loc], "msg": msg})
    first = problems[0]
    where = ".".join(str(p) for p in first["loc"][1:])
    message = f"{where}: {first['msg']}" if where else f"body: {first['msg']}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return InvalidRequest(message, problems)


def problem(loc: list[str | int], message: str, msg: str | None = None) -> InvalidRequest:
    """An `InvalidRequest` about one place (``["body", "inputs", "n"]``, ``["query", "page"]``)."""
    return InvalidRequest(message, [{"loc": loc, "msg": msg or message}])


def _field_names(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else "something else"


class DestinationNotAllowed(ExecutionFailed):
    """An outbound request a workflow caused would reach a place the SSRF guard refuses (the
    machine itself, a private network, cloud metadata...). Names the host, never what it
    resolved to."""

    code = "destination_not_allowed"


class CodeError(ExecutionFailed):
    """A ``code`` node's code raised, or was refused (its message names the line)."""

    code = "code_error"


class CodeOutputInvalid(CodeError):
    """``main`` returned something that is not a dict of JSON values, or too much of it."""

    code = "code_output_invalid"


class CodeMemoryExceeded(CodeError):
    code = "code_memory_exceeded"


class CodeKilled(CodeError):
    """The code's process died without an answer (a crash, a signal)."""

    code = "code_killed"


class CodeTimeout(CodeError):
    """The code ran past its CPU or wall-clock limit (the node's own, not the execution's)."""

    code = "code_timeout"


class SandboxUnavailable(ExecutionFailed):
    """The ``code`` node's sandbox cannot be set up on this host: it refuses to run (never unsandboxed)."""

    code = "sandbox_unavailable"


class FileTooLarge(PayloadTooLarge):
    """A file over ``files.max_bytes`` (an upload, a fetched URL, an attachment)."""


class FileNotTaken(InvalidRequest):
    """A chat user sent a file to a bot whose workflow takes none."""


class FileQuotaExceeded(PayloadTooLarge):
    """Storing the file would take the files past ``files.quota_bytes``, everyone's together."""


class InputDestinationNotAllowed(DestinationNotAllowed):
    """A file input's URL would reach a place the SSRF guard refuses: the caller's request is
    at fault (400), before anything ran."""


class TranscriptionFailed(ExecutionFailed):
    """A voice message could not be turned into text (no transcription model, or it failed):
    the chat user is asked to type instead."""

    code = "transcription_failed"
