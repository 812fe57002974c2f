"""The aiohttp application: middlewares for errors, auth and rate limits, and the routes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from chatgate.gateway import Gateway
from chatgate.http import admin, executions, health, metrics, openapi, webhooks, workflows
from chatgate.http.context import GATEWAY, PRINCIPAL, QUOTA, rate_headers
from chatgate.http.errors import error_response, from_http_exception
from engine.errors import ChatgateError, Unauthorized

log = logging.getLogger("chatgate.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_PREFIX = "/api/v1/"
PUBLIC = {"/api/v1/openapi.json"}


@web.middleware
async def error_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ChatgateError as e:
        return error_response(e)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return from_http_exception(e, request.app[GATEWAY].settings.server.max_body_bytes)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(ChatgateError("internal error; see the server log", None))


@web.middleware
async def auth_and_limits(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(API_PREFIX) or request.path in PUBLIC:
        return await handler(request)
    gw = request.app[GATEWAY]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    principal = gw.keys.find(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if principal is None:
        raise Unauthorized(
            "a valid API key is required" if header else "missing Authorization header",
            "send Authorization: Bearer <api key>",
        )
    request[PRINCIPAL] = principal
    quota = await gw.limiter.hit(f"key:{principal.name}", principal.tier)
    request[QUOTA] = quota
    if not quota.allowed:
        limited = gw.limiter.exceeded(quota, principal.tier)
        response: web.StreamResponse = error_response(limited)
    else:
        try:
            response = await handler(request)
        except ChatgateError as e:
            response = error_response(e)
        except web.HTTPException as e:
            if e.status < 400:
                raise
            response = from_http_exception(e, gw.settings.server.max_body_bytes)
    if not response.prepared:  # streamed responses set these before their first byte
        response.headers.update(rate_headers(request))
    return response


def create_app(gateway: Gateway) -> web.Application:
    app = web.Application(
        middlewares=[error_envelope, auth_and_limits],
        client_max_size=gateway.settings.server.max_body_bytes,
    )
    app[GATEWAY] = gateway
    for module in (workflows, executions, health, openapi, admin, metrics):
        app.router.add_routes(module.routes)
    app.router.add_routes(webhooks.routes_for(gateway.settings))  # Telegram bots in webhook mode
    return app
