"""Starting, supervising and stopping the configured bots.

Each bot runs in its own task; a crash restarts that bot alone, with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from bots.base import Adapter
from bots.router import ChatRouter, Services
from config.schema import BotCommon

log = logging.getLogger("chatgate.bots")

AdapterFactory = Callable[[BotCommon, ChatRouter], Adapter]


def _registry() -> dict[str, AdapterFactory]:
    # Imported on first use, so a platform's library is only loaded when a bot of it
    # runs (aiogram alone takes seconds to import).
    def telegram(settings: BotCommon, router: ChatRouter) -> Adapter:
        from bots.telegram import TelegramAdapter

        return TelegramAdapter(settings, router)

    def discord(settings: BotCommon, router: ChatRouter) -> Adapter:
        from bots.discord import DiscordAdapter

        return DiscordAdapter(settings, router)

    return {"telegram": telegram, "discord": discord}


class RunningBot:
    def __init__(self, settings: BotCommon, adapter: Adapter, router: ChatRouter) -> None:
        self.settings = settings
        self.adapter = adapter
        self.router = router
        self.task: asyncio.Task[None] | None = None
        self.restarts = 0
        self.last_crash: str | None = None
        self.started_at = time.time()


class BotManager:
    def __init__(self, services: Services, factories: dict[str, AdapterFactory] | None = None) -> None:
        self.services = services
        self._factories = factories
        self.bots: dict[str, RunningBot] = {}

    def factories(self) -> dict[str, AdapterFactory]:
        if self._factories is None:
            self._factories = _registry()
        return self._factories

    def start(self, settings: BotCommon) -> None:
        platform: str = settings.platform  # type: ignore[attr-defined]
        router = ChatRouter(self.services, settings)
        adapter = self.factories()[platform](settings, router)
        bot = RunningBot(settings, adapter, router)
        bot.task = asyncio.create_task(self._supervise(bot), name=f"bot:{settings.name}")
        self.bots[settings.name] = bot
        log.info("bot %s (%s) starting", settings.name, platform)

    async def _supervise(self, bot: RunningBot) -> None:
        delay = 1.0
        while True:
            started = time.monotonic()
            try:
                await bot.adapter.run()
                return  # a clean return means it was stopped
            except asyncio.CancelledError:
                raise
            except Exception as e:
                bot.restarts += 1
                bot.last_crash = f"{type(e).__name__}: {e}"
                log.exception("bot %s crashed; restarting in %.0fs", bot.settings.name, delay)
            if time.monotonic() - started > 60:
                delay = 1.0  # it ran fine for a while: this is a new problem
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
            bot.adapter = self.factories()[bot.settings.platform](bot.settings, bot.router)  # type: ignore[attr-defined]

    def reconfigure(self, settings: BotCommon) -> None:
        """Changes that need no reconnect (workflow, tier, greeting, access): the next
        message uses them; a restart after a crash too."""
        bot = self.bots[settings.name]
        bot.settings = settings
        bot.router.settings = settings
        bot.adapter.reconfigure(settings)

    async def stop(self, name: str) -> None:
        bot = self.bots.pop(name)
        log.info("bot %s stopping", name)
        with contextlib.suppress(Exception):
            await bot.adapter.stop()
        if bot.task is not None:
            bot.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await bot.task

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(name) for name in list(self.bots)))

    def health(self) -> dict[str, Any]:
        return {
            name: {
                "platform": b.settings.platform,  # type: ignore[attr-defined]
                "restarts": b.restarts,
                "last_crash": b.last_crash,
                **b.adapter.health(),
            }
            for name, b in self.bots.items()
        }
