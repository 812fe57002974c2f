"""Fixtures for the Telegram stories: the Bot API emulator, and a real ``chatgate serve``
whose telegram bot (real aiogram inside it) talks to that emulator through ``api_base``."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.conftest import SEED_WORKFLOW, ChatgateProcess, StartChatgate, base_config, free_port
from tests.emulators.openai_server import OpenAIEmulator
from tests.emulators.telegram.server import TelegramEmulator

TOKEN = "424242:AAH-tg-test-SECRET-token-0123456789"
OTHER_TOKEN = "515151:AAH-tg-other-SECRET-token-987654"
BOT = "tg"
USERNAME = "chatgate_bot"
MODEL = "gpt-4o-mini"


@pytest.fixture
async def tg_emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator() as emu:
        emu.add_bot(TOKEN, username=USERNAME)
        yield emu


def telegram_bot(emu: TelegramEmulator, **changes: Any) -> dict[str, Any]:
    """A bots[] entry pointing at the emulator; ``changes`` override any key."""
    bot: dict[str, Any] = {
        "name": BOT,
        "platform": "telegram",
        "token": TOKEN,
        "api_base": emu.base_url,
        "workflow": "support_bot",
        "tier": "paid",
        "greeting": "Hello from the test bot!",
        "max_in_flight": 8,
    }
    bot.update(changes)
    return bot


StartTelegram = Callable[..., Awaitable[ChatgateProcess]]


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


async def wait_polling_started(emu: TelegramEmulator, token: str = TOKEN, *, since: int = 0) -> None:
    """Until the bot has made a getUpdates call (after the first ``since`` ones)."""
    await emu.wait_for(lambda: len(emu.calls_to("getUpdates", token)) > since, timeout=15)


def texts(emu: TelegramEmulator, chat_id: int, token: str = TOKEN) -> list[str]:
    """The bot's messages in a chat, as the user sees them (after edits), oldest first."""
    return [m["text"] for m in emu.chat_messages(token, chat_id)]


async def wait_texts(
    emu: TelegramEmulator, chat_id: int, count: int, *, within: float = 10, token: str = TOKEN
) -> list[str]:
    await emu.wait_for(lambda: len(texts(emu, chat_id, token)) >= count, timeout=within)
    return texts(emu, chat_id, token)


async def health(gw: ChatgateProcess) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{gw.base_url}/healthz") as r:
        body: dict[str, Any] = await r.json()
        return body


async def wait_until(probe: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Poll an async condition (e.g. one reading /healthz) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await probe():
        assert loop.time() < deadline, f"{probe.__name__} did not hold within {within}s"
        await asyncio.sleep(0.05)


def model_config(base_url: str, *, max_retries: int = 0) -> Callable[[dict[str, Any]], None]:
    """A ``configure`` callback: a real (emulated) OpenAI model instead of the offline echo."""

    def configure(config: dict[str, Any]) -> None:
        config["llm"].update(
            base_url=base_url,
            api_key="sk-test-llm-key-0123456789",
            default_model="gpt-4o-mini",
            max_retries=max_retries,
            timeout_s=10,
        )

    return configure


def chat_workflow(name: str = "chat") -> dict[str, Any]:
    """start(user_input) -> response on the (emulated) real model, with history."""
    start = {"input_params": [{"name": "user_input", "type": "string"}]}
    response = {"model": MODEL, "system_prompt": "Be brief."}
    return {
        "name": name,
        "description": "chat on the emulated model",
        "nodes": [
            {"id": "start_node", "type": "start", "config": start},
            {"id": "response_node", "type": "response", "config": response},
        ],
        "connections": [{"from": "start_node", "to": "response_node"}],
    }


# -- one chatgate shared by the stories that need no process of their own ---------
#
# Starting chatgate with a telegram bot costs ~5 s (aiogram's types take ~4 s to
# import), so those stories share one process for the whole session (their tests
# run on the session's event loop: ``pytest.mark.asyncio(loop_scope="session")``).
# Each story uses chats of its own, so nothing one does is visible to another.


@dataclass
class Shared:
    """A running chatgate with four bots on one emulator (see `shared_gateway`)."""

    gw: ChatgateProcess
    tg: TelegramEmulator
    llm: OpenAIEmulator
    echo: str  # token of bot "tg": offline echo model, chat sessions
    model: str  # bot "tgm": the emulated real model, chat sessions
    per_user: str  # bot "tgu": the emulated model, session_scope user
    limited: str  # bot "tgl": echo, tier "tiny" (2 messages a minute)
    _next_chat: int = 10_000

    def chat(self, *, group: bool = False) -> int:
        """A chat id no other story uses (groups: a supergroup id)."""
        self._next_chat += 1
        return -1_000_000_000_000 - self._next_chat if group else self._next_chat

    def texts(self, token: str, chat_id: int) -> list[str]:
        return [m["text"] for m in self.tg.chat_messages(token, chat_id)]

    async def wait_texts(self, token: str, chat_id: int, count: int, within: float = 10) -> list[str]:
        await self.tg.wait_for(lambda: len(self.texts(token, chat_id)) >= count, timeout=within)
        return self.texts(token, chat_id)


SHARED_TOKENS = {
    "tg": TOKEN,
    "tgm": "600001:AAH-shared-model-SECRET-0123456789",
    "tgu": "600002:AAH-shared-peruser-SECRET-0123456",
    "tgl": "600003:AAH-shared-limited-SECRET-012345",
}


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
    """The shared chatgate, with the emulators' faults and knobs reset after each story."""
    yield shared_gateway
    shared_gateway.llm.reset()
    tg = shared_gateway.tg
    tg.flood_limit_per_chat = None
    tg.set_down(False)
