"""The fixtures every area shares: the emulators, real ``chatgate serve`` processes configured
per test, and the database servers. What they are built from lives in ``tests/support``."""

from __future__ import annotations

import json
import shutil
import signal
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.emulators.discord.server import DiscordEmulator
from tests.emulators.openai_server import OpenAIEmulator
from tests.emulators.telegram.server import TelegramEmulator
from tests.support import discord, telegram
from tests.support.chatgate import SEED_WORKFLOW, ChatgateProcess, StartChatgate, base_config
from tests.support.net import free_port
from tests.support.services import PostgresServer, RedisServer


@pytest.fixture
async def openai_emu() -> AsyncIterator[OpenAIEmulator]:
    async with OpenAIEmulator() as emu:
        yield emu


@pytest.fixture
async def tg_emu() -> AsyncIterator[TelegramEmulator]:
    """The Telegram Bot API emulator with the test bot (``tests.support.telegram.TOKEN``)."""
    async with TelegramEmulator() as emu:
        emu.add_bot(telegram.TOKEN, username=telegram.USERNAME)
        yield emu


@pytest.fixture
async def discord_emu() -> AsyncIterator[DiscordEmulator]:
    """The Discord emulator with the test bot and a guild of two channels and two members."""
    async with DiscordEmulator() as emu:
        emu.add_bot(discord.TOKEN, user_id=discord.BOT_ID)
        emu.add_guild(
            discord.GUILD,
            channel_ids=[discord.CHANNEL, discord.OTHER_CHANNEL],
            members={discord.ALICE: "alice", discord.BOB: "bob"},
        )
        yield emu


@pytest.fixture
async def start_chatgate(tmp_path: Path) -> AsyncIterator[StartChatgate]:
    """Start a real chatgate; ``configure`` edits the default test config before it starts."""
    started: list[ChatgateProcess] = []

    async def start(
        configure: Callable[[dict[str, Any]], None] | None = None,
        *,
        env: dict[str, str] | None = None,
        workflows: dict[str, dict[str, Any]] | None = None,
        wait: bool = True,
    ) -> ChatgateProcess:
        workdir = tmp_path / f"gw{len(started)}"
        (workdir / "workflows").mkdir(parents=True)
        if workflows is None:
            shutil.copy(SEED_WORKFLOW, workdir / "workflows" / "support_bot.json")
        else:
            for name, doc in workflows.items():
                (workdir / "workflows" / name).write_text(json.dumps(doc))
        config = base_config(free_port(), workdir)
        if configure is not None:
            configure(config)
        # The child must not see the developer's real OpenAI settings.
        child_env = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", **(env or {})}
        proc = ChatgateProcess(workdir, config, child_env)
        started.append(proc)
        await proc.start(wait=wait)
        return proc

    yield start
    for proc in started:
        await proc.stop(signal.SIGKILL)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run; each test takes a fresh database from it."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same story on both storage engines."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'stories.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database(f"t{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A Redis emptied for this test."""
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()  # a test may have stopped it to simulate an outage
    redis_server.flush()
    return redis_server.url
