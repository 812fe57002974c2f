"""Discord: its bots' keys, how its users and channels are named, its token rule."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from config.ids import IdGrammar
from config.platforms.common import BotCommon, Platform, no_whitespace

# Discord bot tokens are three base64url parts joined by dots (the bot's id, a
# timestamp, a signature). discord.py checks nothing before logging in, and the
# Developer Portal shows the application id, public key and client secret next to
# the token: none of them has this shape, so pasting the wrong one is caught here.
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class DiscordBotSettings(BotCommon):
    platform: Literal["discord"]
    reply_in_thread: bool = False
    command_guilds: list[int] = Field(default_factory=list)

    @field_validator("token")
    @classmethod
    def _discord_token(cls, v: SecretStr) -> SecretStr:
        if v.get_secret_value():  # (empty: not started)
            check_discord_token(v.get_secret_value())
        return v


def check_discord_token(token: str) -> None:
    """Checked offline, at load; the message never contains the token."""
    no_whitespace(token)
    if not _TOKEN.fullmatch(token):
        raise ValueError(
            "not a Discord bot token: it has three parts joined by dots (Developer Portal → Bot → "
            "Reset Token); the application id, public key and client secret are not it"
        )


PLATFORM = Platform(
    settings=DiscordBotSettings,
    ids=IdGrammar(
        user=re.compile(r"^discord:-?\d{1,20}$"),
        place=re.compile(r"^discord:channel:-?\d{1,20}$"),
        user_example="discord:1234",
        place_example="discord:channel:1234",
    ),
    live_keys=frozenset({"reply_in_thread"}),  # read per message
)
