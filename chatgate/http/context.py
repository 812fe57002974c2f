"""Typed keys for what the middlewares hand to the handlers, and request helpers."""

from __future__ import annotations

from aiohttp import web

from chatgate.gateway import Gateway
from chatgate.keys import Principal
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
