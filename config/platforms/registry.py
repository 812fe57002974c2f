"""The chat platforms chatgate speaks, one line each. The schema's ``bots`` union, the id
grammar of users, admins and access rules, which bot keys apply without reconnecting
and the webhook paths to route all come from here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from config.ids import register
from config.platforms import discord, telegram
from config.platforms.common import LIVE_KEYS, BotCommon, Platform

PLATFORMS: tuple[Platform, ...] = (
    telegram.PLATFORM,
    discord.PLATFORM,
)

# (ids cannot import this module: a platform's settings contain access rules, whose ids it checks.)
register({p.name: p.ids for p in PLATFORMS})


def platform_of(bot: BotCommon) -> Platform:
    """The platform whose settings the bot is."""
    return next(p for p in PLATFORMS if isinstance(bot, p.settings))


def live_keys(bot: BotCommon) -> frozenset[str]:
    """The bot's keys an adapter takes without reconnecting; any other change restarts it."""
    return LIVE_KEYS | platform_of(bot).live_keys


def webhook_pattern(bot: BotCommon) -> str | None:
    """The path pattern the bot receives webhooks at ({bot}: its name); None: no webhooks."""
    hooks = platform_of(bot).webhooks
    return None if hooks is None else hooks.path(bot)


def webhook_path(bot: BotCommon) -> str | None:
    """The path the bot receives webhooks at; None: no webhooks."""
    pattern = webhook_pattern(bot)
    return None if pattern is None else pattern.replace("{bot}", bot.name)


def webhook_patterns(bots: Iterable[BotCommon]) -> set[str]:
    """Every path pattern to route: each platform's default, and the bots' own."""
    found = {p.webhooks.default_path for p in PLATFORMS if p.webhooks is not None}
    return found | {pattern for b in bots if (pattern := webhook_pattern(b)) is not None}


def unrouted_webhooks(bots: Sequence[BotCommon], routed: set[str]) -> list[str]:
    """Keys (``bots.<i>.<path key>``) of webhook paths outside ``routed``: the HTTP server's
    routes are fixed once it serves, so only a restart serves them."""
    out = []
    for i, bot in enumerate(bots):
        hooks = platform_of(bot).webhooks
        if hooks is not None and (pattern := hooks.path(bot)) is not None and pattern not in routed:
            out.append(f"bots.{i}.{hooks.path_key}")
    return out
