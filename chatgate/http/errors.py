"""The one place that turns chatgate errors into HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from engine.errors import (
    ChatgateError,
    CodeError,
    CodeKilled,
    CodeMemoryExceeded,
    CodeOutputInvalid,
    CodeTimeout,
    Conflict,
    DestinationNotAllowed,
    ExecutionFailed,
    ExecutionTimeout,
    Forbidden,
    InputDestinationNotAllowed,
    InvalidRequest,
    InvalidWorkflow,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    SandboxUnavailable,
    Unauthorized,
    Unavailable,
    problem,
)

log = logging.getLogger("chatgate.http")

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
    DestinationNotAllowed: 502,
    InputDestinationNotAllowed: 400,  # a file input's URL: the request's fault, nothing ran
    # A code node's own failures: its code's fault (or the host's), said by their own codes.
    **dict.fromkeys((CodeError, CodeOutputInvalid, CodeMemoryExceeded, CodeKilled, CodeTimeout), 502),
    SandboxUnavailable: 502,
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


def unexpected(error: BaseException, where: str) -> ChatgateError:
    """A failure nobody foresaw (a bug, a database refusing a write): logged here, once, with
    its traceback (server side only), and answered as a plain ``internal_error``."""
    log.error("unhandled error on %s", where, exc_info=error)
    return ChatgateError("internal error; see the server log", None)


class MethodNotAllowed(ChatgateError):
    code = "method_not_allowed"


class RequestTimeout(ChatgateError):
    """The request's headers or body did not arrive in time (``server.*_timeout_s``)."""

    code = "request_timeout"


STATUS[MethodNotAllowed] = 405
STATUS[RequestTimeout] = 408


def protocol_error(status: int, exc: BaseException | None, message: str | None) -> ChatgateError:
    """What aiohttp's parser refused (it answers 400 for all of it), or a 500 no middleware caught."""
    if status >= 500:
        return ChatgateError("internal error; see the server log", None)
    reason = first_line(getattr(exc, "message", None) or message)
    return problem(["request"], f"malformed HTTP request: {reason}")


def first_line(text: object) -> str:
    """aiohttp's messages may quote the offending bytes over several lines: the first, bounded."""
    lines = str(text or "").strip().splitlines()
    return lines[0][:200] if lines else "unreadable"


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
        allowed = sorted(exc.allowed_methods)
        error = MethodNotAllowed(f"method {exc.method} is not allowed here", {"allowed": allowed})
        response = error_response(error)
        response.headers["Allow"] = ", ".join(allowed)
        return response
    elif isinstance(exc, web.HTTPExpectationFailed):
        expect = first_line(exc.text.removeprefix(f"{exc.status}: ")) if exc.text else "Expect"
        refusal = problem(["header", "Expect"], f"{expect}; only 'Expect: 100-continue' is understood")
        return json_response(refusal.envelope(), exc.status)
    else:
        return json_response(ChatgateError(exc.reason or "request refused").envelope(), exc.status)
    return error_response(error)
