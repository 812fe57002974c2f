"""Webhooks, served by chatgate's own HTTP server: which paths are routed, and to which
bot, comes from the platforms' registry (config/platforms/registry.py); the one platform
with webhooks is Telegram (bots with ``mode: {url, …}``), documented here.

``POST <path>`` (default ``/telegram/{bot}``) carries one Update. The request
must bear the bot's secret in ``X-Telegram-Bot-Api-Secret-Token`` (401
otherwise), and is answered 200 only once the update is durably queued: a
non-2xx makes Telegram deliver it again later, so nothing is lost while the
bot is starting or stopping (503) or its queue is full.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Protocol, runtime_checkable

from aiohttp import web
from pydantic import ValidationError

from chatgate.http import schemas
from chatgate.http.bodies import parse_body, respond
from chatgate.http.context import gateway
from chatgate.http.errors import json_response
from chatgate.http.operations import Operations, Reply
from config.platforms.registry import webhook_path, webhook_patterns
from config.platforms.telegram import WEBHOOKS
from config.schema import Settings
from engine.errors import NotFound, Unauthorized, problem

log = logging.getLogger("chatgate.http")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 -- a header name, not a secret
DEFAULT_PATH = WEBHOOKS.default_path  # where the API document shows Telegram's webhook


@runtime_checkable
class WebhookReceiver(Protocol):
    """What a bot adapter offers to take webhook updates (bots.telegram.TelegramAdapter)."""

    def webhook_secret(self) -> str: ...

    async def receive_webhook(self, data: dict[str, Any]) -> bool:
        """True once the update is durably queued; False while not accepting (starting, stopping)."""


def routes_for(settings: Settings) -> list[web.RouteDef]:
    """One POST route per distinct configured path pattern (``{bot}`` is the bot's name)."""
    return [web.post(p, receive) for p in sorted(webhook_patterns(settings.bots))]


_declare = Operations()  # documented here, routed under each configured path by routes_for


@_declare.operation(
    "POST",
    DEFAULT_PATH,
    operation_id="telegramWebhook",
    tag="telegram",
    summary="A Telegram update for a bot in webhook mode (called by Telegram)",
    description=f"Needs the bot's `secret_token` in `{SECRET_HEADER}`. Answered 200 once the update is "
    "durably queued; 503 (Telegram's own shape) while the bot is starting or stopping, so Telegram "
    "delivers it again.",
    public=True,
    body=schemas.TelegramUpdate,
    replies=(
        Reply(200, "queued", schemas.WebhookAck),
        Reply(503, "not accepting right now; Telegram retries", schemas.WebhookAck),
    ),
    errors=(schemas.InvalidRequestError, schemas.NotFoundError, schemas.UnauthorizedError),
    add_route=False,
)
async def receive(request: web.Request) -> web.Response:
    gw = gateway(request)
    running = next((b for b in gw.bots.bots.values() if webhook_path(b.settings) == request.path), None)
    if running is None or not isinstance(running.adapter, WebhookReceiver):
        raise NotFound("no bot receives webhooks here", {})
    adapter = running.adapter
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), adapter.webhook_secret().encode()):
        raise Unauthorized("wrong or missing webhook secret", f"send the bot's secret in {SECRET_HEADER}")
    update = await parse_body(request, schemas.TelegramUpdate)
    try:
        queued = await adapter.receive_webhook(update.model_dump())
    except ValidationError:
        raise problem(["body"], "the body is not a Telegram Update") from None
    if not queued:
        # Telegram retries anything but 2xx, so the update comes back once we are ready.
        return json_response(
            {"ok": False, "description": "the bot is starting or stopping"},
            status=503,
            headers={"Retry-After": "1"},
        )
    return respond(schemas.WebhookAck, {"ok": True})
