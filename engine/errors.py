"""The one exception hierarchy of chatgate.

Each class carries its machine-readable ``code``; the HTTP front door maps
classes to status codes in one table and the chat router maps them to short
human messages in another. Messages never contain secrets.
"""

from __future__ import annotations

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
    """Validate caller-supplied data; the first problem becomes `InvalidRequest` naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        raise InvalidRequest(f"{where}: {err['msg']}", {"field": where}) from None
