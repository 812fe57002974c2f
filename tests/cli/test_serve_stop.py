"""An operator stops ``chatgate serve`` (SIGTERM, as systemd and Docker do) while its bots
are in every state a bot can be in: still connecting to an API that never answers, running,
backing off from an API that refuses connections, failed with a refused token. It exits
within seconds and frees its port; /healthz showed each state, and ``degraded`` meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from tests.emulators.discord.server import DiscordEmulator
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.chatgate import StartChatgate
from tests.support.discord import TOKEN as DISCORD_TOKEN
from tests.support.discord import discord_bot_config
from tests.support.net import free_port
from tests.support.telegram import TOKEN, telegram_bot

STOP_WITHIN_S = 10.0
UNKNOWN_TELEGRAM_TOKEN = "999999:AAH-nobody-knows-this-token-0123"
UNKNOWN_DISCORD_TOKEN = "OTk5.nobody-knows.this-token-0123456789"


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """An HTTP address that accepts connections and never answers (a hung upstream)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()


async def bot_states(base_url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/healthz") as r:
        body: dict[str, Any] = await r.json()
        return body


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def test_sigterm_ends_serve_within_seconds_whatever_state_each_bot_is_in(
    start_chatgate: StartChatgate,
) -> None:
    async with TelegramEmulator() as tg, DiscordEmulator() as dc, silent_server() as hung:
        tg.add_bot(TOKEN, username="running_bot")
        dc.add_bot(DISCORD_TOKEN, user_id=900)
        refused = f"http://127.0.0.1:{free_port()}"  # nothing listens there

        def configure(config: dict[str, Any]) -> None:
            config["bots"] = [
                telegram_bot(tg, name="tg-running"),
                telegram_bot(tg, name="tg-starting", token="100001:AAH-hung-0123456789", api_base=hung),
                telegram_bot(tg, name="tg-backoff", token="100002:AAH-refused-0123456789", api_base=refused),
                telegram_bot(tg, name="tg-failed", token=UNKNOWN_TELEGRAM_TOKEN),
                discord_bot_config(dc, name="dc-running"),
                discord_bot_config(dc, name="dc-failed", token=UNKNOWN_DISCORD_TOKEN),
            ]

        gw = await start_chatgate(configure)
        wanted = {
            "tg-running": "polling",
            "tg-starting": "starting",
            "tg-backoff": "connecting",
            "tg-failed": "failed",
            "dc-running": "connected",
            "dc-failed": "failed",
        }
        deadline = time.monotonic() + 20
        while True:
            health = await bot_states(gw.base_url)
            states = {name: bot.get("state") for name, bot in health["bots"].items()}
            if states == wanted:
                break
            assert time.monotonic() < deadline, f"{states}\n{gw.logs()}"
            await asyncio.sleep(0.1)

        assert health["status"] == "degraded"
        tg_failed, dc_failed = health["bots"]["tg-failed"], health["bots"]["dc-failed"]
        assert "401" in tg_failed["reason"]
        assert tg_failed["retry_at"].endswith("Z")
        assert "rejected the bot token" in dc_failed["reason"]
        assert UNKNOWN_TELEGRAM_TOKEN not in str(health)
        assert UNKNOWN_DISCORD_TOKEN not in str(health)

        started = time.monotonic()
        code = await gw.stop(signal.SIGTERM, timeout=STOP_WITHIN_S)
        assert code == 0, gw.logs()
        assert time.monotonic() - started < STOP_WITHIN_S
        assert port_is_free(gw.port)
        assert any(line.endswith("chatgate: stopped") for line in gw.logs().splitlines())


async def test_sigterm_ends_serve_while_a_discord_bot_waits_on_an_api_that_never_answers(
    start_chatgate: StartChatgate,
) -> None:
    async with DiscordEmulator() as dc, silent_server() as hung:

        def configure(config: dict[str, Any]) -> None:
            config["bots"] = [discord_bot_config(dc, name="dc-starting", api_base=f"{hung}/api/v10")]

        gw = await start_chatgate(configure)
        deadline = time.monotonic() + 20
        while (await bot_states(gw.base_url))["bots"]["dc-starting"].get("state") != "connecting":
            assert time.monotonic() < deadline, gw.logs()
            await asyncio.sleep(0.1)
        started = time.monotonic()
        assert await gw.stop(signal.SIGTERM, timeout=STOP_WITHIN_S) == 0, gw.logs()
        assert time.monotonic() - started < STOP_WITHIN_S
        assert port_is_free(gw.port)
