"""REST answers: the error type with Discord's JSON error bodies, and JSON/no-content responses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from tests.emulators.discord.protocol import Json, dumps


class ApiError(Exception):
    """An error answer of the REST API, with Discord's JSON error body."""

    def __init__(self, status: int, body: Json, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {body.get('message')}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def _field_errors(path: Sequence[str], code: str, message: str) -> Json:
    errors: Json = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {key: errors}
    return errors


def invalid_form(path: Sequence[str], code: str, message: str) -> ApiError:
    return ApiError(
        400, {"code": 50035, "message": "Invalid Form Body", "errors": _field_errors(path, code, message)}
    )


def not_found(message: str = "404: Not Found", code: int = 0) -> ApiError:
    return ApiError(404, {"message": message, "code": code})


def unknown_channel() -> ApiError:
    return not_found("Unknown Channel", 10003)


def unknown_message() -> ApiError:
    return not_found("Unknown Message", 10008)


def unknown_webhook() -> ApiError:
    return not_found("Unknown Webhook", 10015)


def unknown_interaction() -> ApiError:
    return not_found("Unknown interaction", 10062)


GENERIC_ERRORS: dict[int, Json] = {
    400: {"message": "400: Bad Request", "code": 0},
    401: {"message": "401: Unauthorized", "code": 0},
    403: {"message": "Missing Permissions", "code": 50013},
    404: {"message": "404: Not Found", "code": 0},
    405: {"message": "405: Method Not Allowed", "code": 0},
    500: {"message": "500: Internal Server Error", "code": 0},
    502: {"message": "502: Bad Gateway", "code": 0},
    503: {"message": "503: Service Unavailable", "code": 0},
    504: {"message": "504: Gateway Timeout", "code": 0},
}


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    # discord.py parses the body as JSON only for this exact Content-Type (no charset).
    all_headers = {"Content-Type": "application/json", "Via": "1.1 google"}
    if headers:
        all_headers.update(headers)
    return web.Response(status=status, body=dumps(body).encode(), headers=all_headers)


def no_content(headers: Mapping[str, str] | None = None) -> web.Response:
    all_headers = {"Via": "1.1 google"}
    if headers:
        all_headers.update(headers)
    return web.Response(status=204, headers=all_headers)
