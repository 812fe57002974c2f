"""Is a bot token at least of its platform's shape? Checked offline, at load, so that a
token that can never log in is a config error naming its key rather than a bot that
fails at every start. Messages never contain the token.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

# Discord bot tokens are three base64url parts joined by dots (the bot's id, a
# timestamp, a signature). discord.py checks nothing before logging in, and the
# Developer Portal shows the application id, public key and client secret next to
# the token: none of them has this shape, so pasting the wrong one is caught here.
_DISCORD = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _no_whitespace(token: str) -> None:
    if any(c.isspace() for c in token):
        raise ValueError("the token contains whitespace (a line break or a 'Bot ' prefix pasted with it?)")


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
    """aiogram's own rule: ``<bot id digits>:<secret>``, no whitespace."""
    _no_whitespace(token)
    rule = _aiogram_token_module()
    try:
        rule.validate_token(token)
    except rule.TokenValidationError:
        raise ValueError(
            "not a Telegram bot token: @BotFather gives one like 123456789:AAE..., digits, a colon, a secret"
        ) from None


def check_discord_token(token: str) -> None:
    _no_whitespace(token)
    if not _DISCORD.fullmatch(token):
        raise ValueError(
            "not a Discord bot token: it has three parts joined by dots (Developer Portal → Bot → "
            "Reset Token); the application id, public key and client secret are not it"
        )
