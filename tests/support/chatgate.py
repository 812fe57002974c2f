"""A real ``chatgate serve`` process in a directory of its own, and the test config it starts from."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
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
