"""The one place that turns chatgate errors into HTTP responses."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from engine.errors import (
    ChatgateError,
    Conflict,
    ExecutionFailed,
    ExecutionTimeout,
    Forbidden,
    InvalidRequest,
    InvalidWorkflow,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    Unavailable,
)

STATUS: dict[type[ChatgateError], int] = {
    InvalidRequest: 400,
    InvalidWorkflow: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    RateLimited: 429,
    Unavailable: 503,
    ExecutionTimeout: 504,
    ExecutionFailed: 502,
    ChatgateError: 500,
}


def status_of(error: ChatgateError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def error_response(error: ChatgateError) -> web.Response:
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None
    if isinstance(error, Unauthorized):
        headers = {"WWW-Authenticate": 'Bearer realm="chatgate"'}
    return json_response(error.envelope(), status_of(error), headers)


class MethodNotAllowed(ChatgateError):
    code = "method_not_allowed"


STATUS[MethodNotAllowed] = 405


def from_http_exception(exc: web.HTTPException, max_body_bytes: int) -> web.Response:
    """aiohttp's own refusals (unknown route, wrong method, body too big) in our envelope."""
    error: ChatgateError
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        # aiohttp keeps neither size on the exception, so the limit comes from the config.
        error = PayloadTooLarge(
            f"the request body is larger than the limit of {max_body_bytes} bytes",
            {"max_bytes": max_body_bytes},
        )
    elif isinstance(exc, web.HTTPNotFound):
        error = NotFound("no such endpoint", {})
    elif isinstance(exc, web.HTTPMethodNotAllowed):
        error = MethodNotAllowed(
            f"method {exc.method} is not allowed here", {"allowed": sorted(exc.allowed_methods)}
        )
    else:
        return json_response(ChatgateError(exc.reason or "request refused").envelope(), exc.status)
    return error_response(error)
