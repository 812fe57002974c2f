"""Discord cannot be reached: at start-up, or later while the bot was connected. The log says
so in one line per retry (which bot, what failed, when it retries), never a traceback, and
/healthz shows the state; a stop meanwhile is prompt."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from typing import Any

from tests.emulators.discord.server import DiscordEmulator
from tests.support.chatgate import StartChatgate
from tests.support.discord import CHANNEL, StartDiscordBot, discord_bot_config
from tests.support.net import free_port


async def test_discord_unreachable_at_start_is_one_line_per_attempt_and_the_bot_shows_failed(
    start_chatgate: StartChatgate, discord_emu: DiscordEmulator
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/api/v10"

    def configure(config: dict[str, Any]) -> None:
        config["bots"].append(discord_bot_config(discord_emu, api_base=nowhere))

    gw = await start_chatgate(configure)
    pattern = r"WARNING chatgate\.bots: bot dc-test failed: cannot reach Discord \(.+\); retrying in \d+s$"
    await discord_emu.wait_for(lambda: len(re.findall(pattern, gw.logs(), re.M)) >= 2, 15.0)
    assert "Traceback" not in gw.logs()
    async with gw.client() as http, http.get("/healthz") as r:
        health = await r.json()
    bot = health["bots"]["dc-test"]
    assert bot["state"] == "failed"
    assert "cannot reach Discord" in bot["reason"]
    assert health["status"] == "degraded"


async def test_a_lost_gateway_is_one_line_per_reconnect_attempt_and_a_stop_meanwhile_is_prompt(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator
) -> None:
    bot = await discord_bot()
    asked = bot.say(CHANNEL, "hello?")
    assert await bot.answer_to(CHANNEL, asked) == "(echo) hello?"

    await discord_emu.stop()  # Discord goes away: the gateway drops and refuses reconnects
    pattern = (
        r"WARNING discord\.client: discord bot dc-test: gateway connection failed \(.+\); reconnecting in"
    )
    deadline = time.monotonic() + 15
    while len(bot.log_lines(pattern)) < 2:
        assert time.monotonic() < deadline, bot.gw.logs()
        await asyncio.sleep(0.1)
    assert "Traceback" not in bot.gw.logs()
    assert (await bot.health())["state"] == "reconnecting"

    started = time.monotonic()
    assert await bot.gw.stop(signal.SIGTERM, timeout=10) == 0
    assert time.monotonic() - started < 10
