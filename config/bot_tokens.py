"""Is a bot token at least of its platform's shape? Checked offline, at load, so that a
token that can never log in is a config error naming its key rather than a bot that
fails at every start. Messages never contain the token.
"""

from __future__ import annotations

import re

# Discord bot tokens are three base64url parts joined by dots (the bot's id, a
# timestamp, a signature). discord.py checks nothing before logging in, and the
# Developer Portal shows the application id, public key and client secret next to
# the token: none of them has this shape, so pasting the wrong one is caught here.
_DISCORD = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _no_whitespace(token: str) -> None:
    if any(c.isspace() for c in token):
        raise ValueError("the token contains whitespace (a line break or a 'Bot ' prefix pasted with it?)")


def check_telegram_token(token: str) -> None:
    """aiogram's own rule (``<bot id digits>:<secret>``); imported only when a token is
    set, since importing aiogram takes a while."""
    _no_whitespace(token)
    from aiogram.utils.token import TokenValidationError, validate_token

    try:
        validate_token(token)
    except TokenValidationError:
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
