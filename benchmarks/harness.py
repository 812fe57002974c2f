"""Shared benchmark plumbing: processes on loopback, load generation, memory readings."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.support.net import free_port
from tests.support.processes import child_pids

ROOT = Path(__file__).resolve().parent.parent
BENCH_KEY = "bench-key-0123456789"


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()}"
    )


class Process:
    """A server in a subprocess; ``peak_rss_mb`` reads the kernel's high-water mark."""

    def __init__(
        self, args: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="bench-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            list(args), cwd=cwd, env={**os.environ, **(env or {})}, stdout=self.log, stderr=subprocess.STDOUT
        )

    def peak_rss_mb(self) -> float:
        """The server's high-water mark plus its children's (chatgate's SQLite insert process):
        an upper bound of what the two held at once."""
        return sum(_peak_rss_mb(pid) for pid in [self.proc.pid, *child_pids(self.proc.pid)])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_http(url: str, proc: Process, within_s: float = 30.0) -> None:
    deadline = time.monotonic() + within_s
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.proc.poll() is not None:
                raise RuntimeError(f"{url}: the server exited:\n{proc.output()}")
            try:
                async with http.get(url) as r:
                    await r.read()
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {within_s}s:\n{proc.output()}")


def start_chatgate(
    workdir: Path,
    *,
    llm: dict[str, Any] | None = None,
    model: str | None = None,
    log_level: str = "WARNING",
    **settings: Any,
) -> tuple[Process, str]:
    """``chatgate serve`` with the seed workflow (optionally on another model) and a bench
    key without a practical limit; ``settings`` replace top-level config keys (``bots``,
    ``storage``, ``redis_url``…). Returns the process and its URL."""
    port = free_port()
    (workdir / "workflows").mkdir(parents=True, exist_ok=True)
    seed = json.loads((ROOT / "config" / "workflows" / "support_bot.json").read_text())
    if model is not None:
        for node in seed["nodes"]:
            if node["type"] == "response":
                node["config"]["model"] = model
    (workdir / "workflows" / "support_bot.json").write_text(json.dumps(seed))
    config = {
        "server": {"host": "127.0.0.1", "port": port},
        "storage": {"url": f"sqlite:///{workdir / 'data' / 'chatgate.db'}"},
        "llm": {
            "default_model": "echo",
            "timeout_s": 120,
            "max_retries": 2,
            "max_connections": 5000,
            **(llm or {}),
        },
        "api_keys": [{"key": BENCH_KEY, "name": "bench", "tier": "bench"}],
        "rate_limits": {"free": "10/minute", "bench": "100000000/minute"},
        "workflows_dir": str(workdir / "workflows"),
        "data_dir": str(workdir / "data"),
        **settings,
    }
    (workdir / "chatgate.yaml").write_text(yaml.safe_dump(config))
    chatgate = str(Path(sys.executable).parent / "chatgate")
    proc = Process(
        [chatgate, "serve", "--config", str(workdir / "chatgate.yaml"), "--log-level", log_level], cwd=workdir
    )
    return proc, f"http://127.0.0.1:{port}"


@dataclass
class Load:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_WRK_SCRIPT = """
local n = 0
request = function()
  n = n + 1
  local session = math.random(0, 999)
  local body = string.format('{"inputs":{"user_input":"hello %d"},"session_id":"bench-%d"}', n, session)
  return wrk.format("POST", nil, {["Content-Type"]="application/json", ["Authorization"]="Bearer KEY"}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk(url: str, *, connections: int, seconds: int, key: str = BENCH_KEY, sessions: str = "bench") -> Load:
    """Drive POST execute with wrk (one thread: the server gets the other core). Each request
    goes to one of 1000 sessions named ``<sessions>-<n>``, picked at random as real traffic
    would (in turn, every session came due for trimming at once, every 21,000 requests):
    give parallel wrk runs different names."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_WRK_SCRIPT.replace("KEY", key).replace("bench-%d", f"{sessions}-%d"))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", f.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(next(line for line in out.splitlines() if line.startswith("WRKJSON "))[8:])
    return Load(
        data["requests"],
        data["duration_us"] / 1e6,
        data["errors"],
        data["p50_us"] / 1000,
        data["p99_us"] / 1000,
    )


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


async def burst(url: str, *, total: int, key: str = BENCH_KEY, limit_s: float = 300.0) -> Load:
    """``total`` requests all at once (one connection each); for the many-concurrent scenario."""
    latencies: list[float] = []
    errors = 0
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=limit_s)) as http:

        async def one(i: int) -> None:
            nonlocal errors
            t0 = time.perf_counter()
            try:
                async with http.post(
                    url,
                    json={"inputs": {"user_input": f"hello {i}"}},
                    headers={"Authorization": f"Bearer {key}"},
                ) as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
            latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(total)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    return Load(
        total - errors,
        elapsed,
        errors,
        latencies[len(latencies) // 2] * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
    )
