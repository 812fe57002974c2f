"""Fixtures for the bot stories: a real ``chatgate serve`` whose Telegram bot (real aiogram) or
Discord bot (real discord.py) talks to the emulator through ``api_base``, and one chatgate
with four Telegram bots shared by the stories that need no process of their own."""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.emulators.discord.server import DiscordEmulator
from tests.emulators.openai_server import OpenAIEmulator
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.chatgate import SEED_WORKFLOW, ChatgateProcess, StartChatgate, base_config
from tests.support.discord import DiscordBot, StartDiscordBot, discord_bot_config
from tests.support.net import free_port
from tests.support.telegram import (
    SHARED_TOKENS,
    USERNAME,
    Shared,
    StartTelegram,
    chat_workflow,
    model_config,
    telegram_bot,
    wait_all_polling,
    wait_polling_started,
)


@pytest.fixture
def start_telegram(start_chatgate: StartChatgate, tg_emu: TelegramEmulator) -> StartTelegram:
    """Start chatgate with one telegram bot (``bot`` overrides its keys) and wait until it polls."""

    async def start(
        *,
        configure: Callable[[dict[str, Any]], None] | None = None,
        workflows: dict[str, dict[str, Any]] | None = None,
        wait_polling: bool = True,
        **bot: Any,
    ) -> ChatgateProcess:
        def conf(config: dict[str, Any]) -> None:
            config["bots"].append(telegram_bot(tg_emu, **bot))
            if configure is not None:
                configure(config)

        gw = await start_chatgate(conf, workflows=workflows)
        if wait_polling:
            await wait_polling_started(tg_emu)
        return gw

    return start


# -- one chatgate shared by the stories that need no process of their own ---------
#
# Starting chatgate with a telegram bot costs ~5 s (aiogram's types take ~4 s to
# import), so those stories share one process for the whole session (their tests
# run on the session's event loop: ``pytest.mark.asyncio(loop_scope="session")``).
# Each story uses chats of its own, so nothing one does is visible to another.


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def shared_gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shared]:
    async with TelegramEmulator() as tg, OpenAIEmulator() as llm:
        usernames = {"tg": USERNAME, "tgm": "model_bot", "tgu": "peruser_bot", "tgl": "limited_bot"}
        for name, token in SHARED_TOKENS.items():
            tg.add_bot(token, username=usernames[name])
        workdir = tmp_path_factory.mktemp("tgshared")
        (workdir / "workflows").mkdir()
        shutil.copy(SEED_WORKFLOW, workdir / "workflows" / "support_bot.json")
        (workdir / "workflows" / "chat.json").write_text(json.dumps(chat_workflow()))
        config = base_config(free_port(), workdir)
        model_config(llm.base_url)(config)
        config["llm"]["default_model"] = "echo"  # the seed workflow stays offline; "chat" names its model
        config["rate_limits"]["tiny"] = "2/minute"
        config["bots"] = [
            telegram_bot(tg, name="tg", token=SHARED_TOKENS["tg"]),
            telegram_bot(tg, name="tgm", token=SHARED_TOKENS["tgm"], workflow="chat"),
            telegram_bot(tg, name="tgu", token=SHARED_TOKENS["tgu"], workflow="chat", session_scope="user"),
            telegram_bot(tg, name="tgl", token=SHARED_TOKENS["tgl"], tier="tiny"),
        ]
        gw = ChatgateProcess(Path(workdir), config, {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""})
        try:
            await gw.start()
            for token in SHARED_TOKENS.values():
                await wait_polling_started(tg, token)
            t = SHARED_TOKENS
            yield Shared(gw, tg, llm, echo=t["tg"], model=t["tgm"], per_user=t["tgu"], limited=t["tgl"])
        finally:
            await gw.stop(signal.SIGKILL)


@pytest_asyncio.fixture(loop_scope="session")
async def shared(shared_gateway: Shared) -> AsyncIterator[Shared]:
    """The shared chatgate, every bot polling, with the emulators' faults and knobs reset after
    each story."""
    await wait_all_polling(shared_gateway)
    yield shared_gateway
    shared_gateway.llm.reset()
    tg = shared_gateway.tg
    tg.flood_limit_per_chat = None
    tg.set_down(False)


@pytest.fixture
async def discord_bot(start_chatgate: StartChatgate, discord_emu: DiscordEmulator) -> StartDiscordBot:
    """Start chatgate with one Discord bot; keyword arguments override the bot's settings,
    ``configure`` edits the rest of the config, ``workflows`` (file name: document) replace the
    seed's. Returns once the bot is connected."""

    async def start(
        configure: Callable[[dict[str, Any]], None] | None = None,
        workflows: dict[str, dict[str, Any]] | None = None,
        **bot: Any,
    ) -> DiscordBot:
        def setup(config: dict[str, Any]) -> None:
            config["bots"].append(discord_bot_config(discord_emu, **bot))
            if configure is not None:
                configure(config)

        before = len(discord_emu.identify_payloads)
        gw = await start_chatgate(setup, workflows=workflows)
        harness = DiscordBot(gw, discord_emu, name=bot.get("name", "dc-test"))
        await discord_emu.wait_for(
            lambda: len(discord_emu.identify_payloads) > before and discord_emu.active_connections >= 1, 15.0
        )
        return harness

    return start
