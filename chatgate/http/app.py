"""The aiohttp application: one middleware for auth, rate limits and errors, and the routes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from chatgate.gateway import Gateway
from chatgate.http import cors, docs, openapi
from chatgate.http.context import GATEWAY, PRINCIPAL, QUOTA, RELOADER, rate_headers
from chatgate.http.errors import error_response, first_line, from_http_exception, unexpected
from chatgate.http.routes import (
    admin,
    executions,
    files,
    health,
    keys,
    metrics,
    webhooks,
    workflow_schema,
    workflows,
)
from chatgate.keys import Principal
from chatgate.reload.reloader import Reloader
from engine.errors import ChatgateError, Unauthorized, problem

log = logging.getLogger("chatgate.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_PREFIX = "/api/v1/"
PUBLIC = {"/api/v1/openapi.json", workflow_schema.PATH}  # documents that hold no secrets
PUBLIC_PREFIXES = (files.PREFIX,)  # a signed URL is its own permission


@web.middleware
async def front_door(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request: the key and its rate limit for /api/v1, then the handler; every
    error in the one envelope; the quota headers on every answer the limit counted."""
    quota = None
    try:
        path = request.path
        if path.startswith(API_PREFIX) and path not in PUBLIC and not path.startswith(PUBLIC_PREFIXES):
            gw = request.app[GATEWAY]
            principal = _authenticate(gw, request.headers.get("Authorization", ""))
            request[PRINCIPAL] = principal
            principal.check_method(request.method)  # a read-only key: GET only
            quota = request[QUOTA] = await gw.limiter.hit(f"key:{principal.name}", principal.tier)
            if not quota.allowed:
                raise gw.limiter.exceeded(quota, principal.tier)
        response = await handler(request)
    except ChatgateError as e:
        response = error_response(e)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        response = from_http_exception(e, request.app[GATEWAY].settings.server.max_body_bytes)
    except (RequestPayloadError, HttpProcessingError) as e:
        # The body could not be read as sent (a gzip body that is not gzip, a bad chunk size).
        reason = first_line(getattr(e, "message", None) or e)
        response = error_response(problem(["body"], f"the request body could not be read: {reason}"))
        response.force_close()  # what is left of the body on the connection cannot be trusted
    except ConnectionResetError:
        raise  # the client went away mid-request: nobody to answer
    except Exception as e:
        response = error_response(unexpected(e, f"{request.method} {request.path}"))
    if quota is not None and not response.prepared:  # streams set these before their first byte
        response.headers.update(rate_headers(quota))
    return response


def _authenticate(gw: Gateway, header: str) -> Principal:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if not header:
        raise Unauthorized("missing Authorization header", "send Authorization: Bearer <api key>")
    # Keys are ASCII; other bytes in the header (decoded by aiohttp as surrogates) match none.
    usable = scheme.lower() == "bearer" and token.isascii()
    # expired keys, and keys whose tier is gone, are refused with the reason
    return gw.keys.authenticate(token if usable else "", gw.limiter.tiers)


def create_app(gateway: Gateway, reloader: Reloader | None = None) -> web.Application:
    """``reloader``: for the admin API's reload and /healthz (None: no live reload)."""
    app = web.Application(
        middlewares=[cors.preflight, front_door],
        client_max_size=gateway.settings.server.max_body_bytes,
    )
    app[GATEWAY] = gateway
    if reloader is not None:
        app[RELOADER] = reloader
    app.on_response_prepare.append(cors.add_headers)
    for module in (
        workflows,
        executions,
        health,
        openapi,
        docs,
        admin,
        keys,
        metrics,
        workflow_schema,
        files,
    ):
        app.router.add_routes(module.routes)
    app.router.add_routes(webhooks.routes_for(gateway.settings))  # Telegram bots in webhook mode
    openapi.install(app)
    return app
