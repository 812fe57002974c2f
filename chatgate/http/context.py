"""Typed keys for what the app and the middlewares hand to the handlers, and request helpers."""

from __future__ import annotations

from aiohttp import web

from chatgate.gateway import Gateway
from chatgate.keys import Principal
from chatgate.reload.reloader import Reloader
from engine.ratelimit import Quota

GATEWAY = web.AppKey("gateway", Gateway)
RELOADER = web.AppKey("reloader", Reloader)  # absent: no live reload in this process
PRINCIPAL = web.RequestKey("chatgate.principal", Principal)
QUOTA = web.RequestKey("chatgate.quota", Quota)


def gateway(request: web.Request) -> Gateway:
    return request.app[GATEWAY]


def reloader(request: web.Request) -> Reloader | None:
    return request.app.get(RELOADER)


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def rate_headers(quota: Quota | None) -> dict[str, str]:
    """The quota headers for a request the limit counted (``request.get(QUOTA)``)."""
    if quota is None:
        return {}
    return {"X-Rate-Limit-Remaining": str(quota.remaining), "X-Rate-Limit-Reset": str(quota.reset_at)}
