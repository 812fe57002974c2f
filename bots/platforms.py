"""The adapter of each chat platform, one line each (config/platforms/registry.py lists the
platforms' settings)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bots.base import Adapter
from bots.router import ChatRouter
from config.platforms.common import BotCommon

AdapterFactory = Callable[[BotCommon, ChatRouter], Adapter]


# Imported on first use, so a platform's library is only loaded when a bot of it runs
# (aiogram alone takes seconds to import).
def _telegram(settings: BotCommon, router: ChatRouter) -> Adapter:
    from bots.telegram.adapter import TelegramAdapter

    return TelegramAdapter(settings, router)


def _discord(settings: BotCommon, router: ChatRouter) -> Adapter:
    from bots.discord.adapter import DiscordAdapter

    return DiscordAdapter(settings, router)


ADAPTERS: Mapping[str, AdapterFactory] = {
    "telegram": _telegram,
    "discord": _discord,
}
