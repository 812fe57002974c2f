"""An admin runs the ``chatgate`` command: check-config, and serve on a fresh install."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.api.support import LLM_SECRET, chat_workflow, create_workflow, use_emulator
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.chatgate import API_KEY, ROOT, SEED_WORKFLOW, base_config
from tests.support.net import free_port

CHATGATE = Path(sys.executable).parent / "chatgate"  # the installed console script


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATGATE_", "OPENAI_"))}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.pop("DISCORD_BOT_TOKEN", None)
    return {**env, **extra}


def check_config(path: Path | None, **env: str) -> subprocess.CompletedProcess[str]:
    args = [str(CHATGATE), "check-config"] + ([str(path)] if path else [])
    return subprocess.run(args, capture_output=True, text=True, env=clean_env(**env), timeout=30, check=False)


# -- check-config ------------------------------------------------------------


def test_check_config_accepts_the_shipped_config() -> None:
    done = check_config(ROOT / "config" / "chatgate.yaml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")


def test_check_config_names_an_unknown_key_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "chatgate.yaml"
    path.write_text("server: {port: 8080}\nllm:\n  default_modle: echo\n")
    done = check_config(path)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "llm.default_modle" in lines[0]
    assert f"{path}:3" in lines[0]
    assert "Traceback" not in done.stderr


def test_check_config_names_an_unset_variable(tmp_path: Path) -> None:
    path = tmp_path / "chatgate.yaml"
    path.write_text('api_keys: [{key: "${MY_ADMIN_KEY}", name: admin}]\n')
    failed = check_config(path)
    assert failed.returncode != 0
    assert "MY_ADMIN_KEY" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
    passed = check_config(path, MY_ADMIN_KEY="a-long-enough-admin-key")
    assert passed.returncode == 0, passed.stderr
    assert "a-long-enough-admin-key" not in passed.stdout + passed.stderr


def test_check_config_reports_a_missing_file(tmp_path: Path) -> None:
    done = check_config(tmp_path / "nope.yaml")
    assert done.returncode != 0
    assert "nope.yaml" in done.stderr


def test_check_config_defaults_to_chatgate_config(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.yaml"
    path.write_text("rate_limits: {free: sometimes}\n")
    done = check_config(None, CHATGATE_CONFIG=str(path))
    assert done.returncode != 0
    assert "elsewhere.yaml" in done.stderr
    assert "rate_limits.free" in done.stderr


# -- serve -------------------------------------------------------------------


class Served:
    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir = workdir
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = workdir / "serve.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *args: str, env: dict[str, str] | None = None) -> None:
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                str(CHATGATE),
                "serve",
                *args,
                cwd=self.workdir,
                stdout=log,
                stderr=log,
                env=clean_env(**(env or {})),
            )
        deadline = asyncio.get_running_loop().time() + 20
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc.returncode is not None:
                    raise AssertionError(f"chatgate exited with {self.proc.returncode}:\n{self.logs()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.base_url}/healthz") as r:
                        if r.status == 200:
                            return
                assert asyncio.get_running_loop().time() < deadline, self.logs()
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def client(self, key: str | None) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            base_url=self.base_url, headers={"Authorization": f"Bearer {key}"} if key else {}
        )


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Callable[[dict[str, Any]], Served]]:
    made: list[Served] = []

    def make(config: dict[str, Any]) -> Served:
        (tmp_path / "workflows").mkdir(exist_ok=True)
        (tmp_path / "workflows" / "support_bot.json").write_text(SEED_WORKFLOW.read_text())
        (tmp_path / "chatgate.yaml").write_text(yaml.safe_dump(config))
        s = Served(tmp_path, config["server"]["port"])
        made.append(s)
        return s

    yield make
    for s in made:
        if s.proc is not None and s.proc.returncode is None:
            s.proc.kill()
            await s.proc.wait()


async def test_serve_refuses_a_bad_config_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "chatgate.yaml").write_text("server: {prot: 1}\n")
    proc = await asyncio.create_subprocess_exec(
        str(CHATGATE),
        "serve",
        "--config",
        str(tmp_path / "chatgate.yaml"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=clean_env(),
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode != 0
    assert b"server.prot" in out
    assert b"Traceback" not in out


async def test_serve_reads_chatgate_config_when_no_path_is_given(
    tmp_path: Path, served: Callable[[dict[str, Any]], Served]
) -> None:
    config = base_config(free_port(), tmp_path)
    server = served(config)
    await server.start(env={"CHATGATE_CONFIG": str(tmp_path / "chatgate.yaml")})
    async with server.client(API_KEY) as http:
        r = await http.post("/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "hi"}})
        body = await r.json()
    assert r.status == 200, body
    assert body["result"] == {"content": "(echo) hi"}
    assert "OFFLINE" in server.logs()  # the echo model is labelled as such in the log


async def test_a_fresh_install_generates_an_admin_key_once_and_keeps_using_it(
    tmp_path: Path, served: Callable[[dict[str, Any]], Served]
) -> None:
    config = base_config(free_port(), tmp_path)
    config["api_keys"] = []
    server = served(config)
    await server.start("--config", "chatgate.yaml")
    key_file = tmp_path / "data" / "admin_key"
    key = key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key) >= 32
    assert server.logs().count(key) >= 1  # printed for the admin to copy

    async with server.client(None) as anonymous:
        r = await anonymous.get("/api/v1/workflows")
        assert r.status == 401  # empty api_keys never means an open API
    async with server.client(key) as http:
        assert (await http.get("/api/v1/workflows")).status == 200

    printed = server.logs().count(key)
    await server.stop()
    await server.start("--config", "chatgate.yaml")
    assert key_file.read_text().strip() == key
    assert server.logs().count(key) == printed  # not printed again
    async with server.client(key) as http:
        assert (await http.get("/api/v1/workflows")).status == 200


async def test_secrets_never_reach_the_logs_or_the_database(
    tmp_path: Path, served: Callable[[dict[str, Any]], Served], openai_emu: OpenAIEmulator
) -> None:
    config = base_config(free_port(), tmp_path)
    use_emulator(openai_emu, max_retries=1)(config)
    config["llm"]["api_key"] = None  # this one comes from the environment
    config["bots"] = [{"name": "tg", "platform": "telegram", "token": "", "workflow": "support_bot"}]
    server = served(config)
    env_key = "sk-env-secret-9c1e77"
    await server.start("--config", "chatgate.yaml", "--log-level", "DEBUG", env={"OPENAI_API_KEY": env_key})
    async with server.client(API_KEY) as http, server.client(API_KEY + "x") as wrong:
        wid = await create_workflow(http, chat_workflow())
        ok = await http.post(f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "hi"}})
        assert ok.status == 200, await ok.text()
        openai_emu.fail_next(500, times=2)
        failed = await http.post(f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "x"}})
        failed_body = await failed.text()
        assert failed.status == 502
        denied = await wrong.get("/api/v1/workflows")
        denied_body = await denied.text()
        assert denied.status == 401
    await server.stop()
    assert openai_emu.requests[0].headers["authorization"] == f"Bearer {env_key}"
    log = server.logs()
    assert "DEBUG" in log  # the most talkative level, and still nothing leaks
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("chatgate.db*"))
    for secret in (API_KEY, env_key, LLM_SECRET):
        assert secret not in log, secret
        assert secret.encode() not in stored, secret
        assert secret not in failed_body + denied_body, secret
