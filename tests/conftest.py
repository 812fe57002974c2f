"""Fixtures: the emulators, and real ``chatgate serve`` processes configured per test."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.emulators.openai_server import OpenAIEmulator
from tests.net import free_port
from tests.services import PostgresServer, RedisServer

ROOT = Path(__file__).resolve().parent.parent
SEED_WORKFLOW = ROOT / "config" / "workflows" / "support_bot.json"
API_KEY = "test-key-0123456789"
OTHER_KEY = "other-key-0123456789"


def seed_workflow(**changes: Any) -> dict[str, Any]:
    """The seed document's example workflow, optionally changed."""
    doc: dict[str, Any] = json.loads(SEED_WORKFLOW.read_text())
    doc.update(changes)
    return doc


class ChatgateProcess:
    """A real ``chatgate serve`` in its own directory, talking over loopback."""

    def __init__(self, workdir: Path, config: dict[str, Any], env: dict[str, str]) -> None:
        self.workdir = workdir
        self.config = config
        self.env = env
        self.port: int = config["server"]["port"]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "chatgate.yaml"
        self.log_path = workdir / "chatgate.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.write_config(config)

    def write_config(self, config: dict[str, Any]) -> None:
        self.config = config
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    # A story may run the server as a shell's foreground job would (its own process group).
    new_session = False

    def command(self) -> list[str]:
        """How the server is started; a story may wrap it (a private mount, a namespace)."""
        return [sys.executable, "-m", "chatgate.cli.main", "serve", "--config", str(self.config_path)]

    async def start(self, *, wait: bool = True) -> None:
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            *self.command(),
            cwd=self.workdir,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=log,
            start_new_session=self.new_session,
        )
        log.close()
        if wait:
            await self.wait_healthy()

    async def wait_healthy(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109 - a deadline, polled
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.proc is not None
                if self.proc.returncode is not None:
                    raise AssertionError(f"chatgate exited with {self.proc.returncode}:\n{self.logs()}")
                try:
                    async with http.get(f"{self.base_url}/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"chatgate did not become healthy:\n{self.logs()}")
                await asyncio.sleep(0.05)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:  # noqa: ASYNC109
        """Stop the process (SIGTERM: graceful, SIGKILL: a crash); returns its exit code."""
        if self.proc is None or self.proc.returncode is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(f"chatgate did not stop within {timeout}s:\n{self.logs()}") from None
        return self.proc.returncode

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, key: str | None = API_KEY) -> aiohttp.ClientSession:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return aiohttp.ClientSession(base_url=self.base_url, headers=headers)


StartChatgate = Callable[..., Awaitable[ChatgateProcess]]


def base_config(port: int, workdir: Path) -> dict[str, Any]:
    return {
        "server": {"host": "127.0.0.1", "port": port},
        "storage": {"url": f"sqlite:///{workdir / 'data' / 'chatgate.db'}"},
        "llm": {
            "base_url": None,
            "api_key": None,
            "default_model": "echo",
            "timeout_s": 10,
            "max_retries": 2,
        },
        "api_keys": [
            {"key": API_KEY, "name": "tester", "tier": "paid"},
            {"key": OTHER_KEY, "name": "other", "tier": "paid"},
        ],
        "rate_limits": {"free": "10/minute", "paid": "100000/minute"},
        "workflows_dir": str(workdir / "workflows"),
        "data_dir": str(workdir / "data"),
        "bots": [],
    }


@pytest.fixture
async def openai_emu() -> AsyncIterator[OpenAIEmulator]:
    async with OpenAIEmulator() as emu:
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
