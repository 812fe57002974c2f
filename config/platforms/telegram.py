"""Telegram: its bots' keys, how its users and chats are named, its token rule."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from config.ids import IdGrammar
from config.platforms.common import BotCommon, Platform, Webhooks, no_whitespace
from config.section import Section


class WebhookSettings(Section):
    url: str
    secret_token: SecretStr | None = None
    path: str = "/telegram/{bot}"  # where chatgate's own HTTP server receives the updates


class TelegramBotSettings(BotCommon):
    platform: Literal["telegram"]
    mode: Literal["polling"] | WebhookSettings = "polling"
    backlog_max_age_s: float = Field(600, ge=0)  # older messages found at startup are skipped

    @field_validator("token")
    @classmethod
    def _telegram_token(cls, v: SecretStr) -> SecretStr:
        if v.get_secret_value():  # (empty: not started)
            check_telegram_token(v.get_secret_value())
        return v


@functools.cache
def _aiogram_token_module() -> ModuleType:
    """aiogram's ``utils/token.py``, run on its own: importing it the usual way runs
    aiogram's package first (seconds: every type of the Bot API), which would hold up
    check-config and every start before the HTTP server listens. It imports nothing."""
    module = sys.modules.get("aiogram.utils.token")
    package = importlib.util.find_spec("aiogram")  # (finds it without importing it)
    if module is None and package is not None and package.submodule_search_locations:
        path = Path(package.submodule_search_locations[0]) / "utils" / "token.py"
        spec = importlib.util.spec_from_file_location("chatgate_aiogram_token", path)
        if spec is not None and spec.loader is not None and path.is_file():
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
    if module is None:  # another layout: the usual way
        module = importlib.import_module("aiogram.utils.token")
    return module


def check_telegram_token(token: str) -> None:
    """Checked offline, at load, so a token that can never log in is a config error naming
    its key rather than a bot failing at every start. aiogram's own rule:
    ``<bot id digits>:<secret>``, no whitespace. The message never contains the token."""
    no_whitespace(token)
    rule = _aiogram_token_module()
    try:
        rule.validate_token(token)
    except rule.TokenValidationError:
        raise ValueError(
            "not a Telegram bot token: @BotFather gives one like 123456789:AAE..., digits, a colon, a secret"
        ) from None


def _webhook_path(bot: BotCommon) -> str | None:
    if isinstance(bot, TelegramBotSettings) and isinstance(bot.mode, WebhookSettings):
        return bot.mode.path
    return None


WEBHOOKS = Webhooks(
    default_path=WebhookSettings.model_fields["path"].default,
    path_key="mode.path",
    path=_webhook_path,
)

PLATFORM = Platform(
    settings=TelegramBotSettings,
    ids=IdGrammar(
        user=re.compile(r"^telegram:-?\d{1,20}$"),
        place=re.compile(r"^telegram:chat:-?\d{1,20}$"),
        user_example="telegram:42",
        place_example="telegram:chat:-100123",
    ),
    live_keys=frozenset({"backlog_max_age_s"}),  # read when the next start skips old messages
    webhooks=WEBHOOKS,
)
