"""Typed keys for what the middlewares hand to the handlers, and request helpers."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from chatgate.gateway import Gateway
from chatgate.keys import Principal
from engine.errors import InvalidRequest
from engine.ratelimit import Quota

GATEWAY = web.AppKey("gateway", Gateway)
PRINCIPAL = "chatgate.principal"
QUOTA = "chatgate.quota"


def gateway(request: web.Request) -> Gateway:
    return request.app[GATEWAY]


def principal(request: web.Request) -> Principal:
    p: Principal = request[PRINCIPAL]
    return p


def rate_headers(quota: Quota | None) -> dict[str, str]:
    """The quota headers for a request the limit counted (``request.get(QUOTA)``)."""
    if quota is None:
        return {}
    return {"X-Rate-Limit-Remaining": str(quota.remaining), "X-Rate-Limit-Reset": str(quota.reset_at)}


async def read_json(request: web.Request) -> Any:
    body = await request.read()  # raises 413 past client_max_size
    if not body:
        raise InvalidRequest("the request body is empty; send a JSON object", None)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise InvalidRequest("the request body is not valid JSON", str(e)) from None
