"""Telegram webhooks, served by chatgate's own HTTP server (bots with ``mode: {url, …}``).

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

from chatgate.http.context import gateway, read_json
from chatgate.http.errors import json_response
from config.schema import Settings, TelegramBotSettings, WebhookSettings
from engine.errors import InvalidRequest, NotFound, Unauthorized

log = logging.getLogger("chatgate.http")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_PATH = WebhookSettings.model_fields["path"].default


@runtime_checkable
class WebhookReceiver(Protocol):
    """What a bot adapter offers to take webhook updates (bots.telegram.TelegramAdapter)."""

    def webhook_secret(self) -> str: ...

    async def receive_webhook(self, data: dict[str, Any]) -> bool:
        """True once the update is durably queued; False while not accepting (starting, stopping)."""


def routes_for(settings: Settings) -> list[web.RouteDef]:
    """One POST route per distinct configured path pattern (``{bot}`` is the bot's name)."""
    patterns = {DEFAULT_PATH}
    for bot in settings.bots:
        if isinstance(bot, TelegramBotSettings) and isinstance(bot.mode, WebhookSettings):
            patterns.add(bot.mode.path)
    return [web.post(p, receive) for p in sorted(patterns)]


def _resolved_path(bot: TelegramBotSettings) -> str | None:
    if not isinstance(bot.mode, WebhookSettings):
        return None
    return bot.mode.path.replace("{bot}", bot.name)


async def receive(request: web.Request) -> web.Response:
    gw = gateway(request)
    running = None
    for name, candidate in gw.bots.bots.items():
        s = candidate.settings
        if isinstance(s, TelegramBotSettings) and _resolved_path(s) == request.path:
            running = gw.bots.bots[name]
            break
    if running is None or not isinstance(running.adapter, WebhookReceiver):
        raise NotFound("no bot receives webhooks here", None)
    adapter = running.adapter
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), adapter.webhook_secret().encode()):
        raise Unauthorized("wrong or missing webhook secret", f"send the bot's secret in {SECRET_HEADER}")
    data = await read_json(request)
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise InvalidRequest("the body is not a Telegram Update", None)
    try:
        queued = await adapter.receive_webhook(data)
    except ValidationError:
        raise InvalidRequest("the body is not a Telegram Update", None) from None
    if not queued:
        # Telegram retries anything but 2xx, so the update comes back once we are ready.
        return json_response(
            {"ok": False, "description": "the bot is starting or stopping"},
            status=503,
            headers={"Retry-After": "1"},
        )
    return json_response({"ok": True})
