"""One shared ``chatgate serve`` for the stories that need no special config.

Starting chatgate costs about a second and a half, so the stateless stories
(validation errors, CRUD, rate limits on fresh keys) share one real process.
Each story takes its own API key from a pool, so its workflows, sessions and
rate-limit counters are its own: nothing one story does is visible to another.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import yaml

POOL_SIZE = 200


class SharedServer:
    def __init__(self, base_url: str, workdir: Path) -> None:
        self.base_url = base_url
        self.workdir = workdir
        self._paid = (f"paid-key-{i:03d}-0123456789" for i in range(POOL_SIZE))
        self._free = (f"free-key-{i:03d}-0123456789" for i in range(POOL_SIZE))

    def new_key(self, tier: str = "paid") -> str:
        """A key nobody has used yet: its own workflows, sessions and rate-limit window."""
        return next(self._paid if tier == "paid" else self._free)

    def client(self, key: str | None) -> aiohttp.ClientSession:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return aiohttp.ClientSession(base_url=self.base_url, headers=headers)

    def logs(self) -> str:
        return (self.workdir / "chatgate.log").read_text(errors="replace")


@contextlib.contextmanager
def serving(workdir: Path, config: dict[str, Any]) -> Iterator[str]:
    """``chatgate serve`` on ``config`` in a subprocess until the block ends; yields its base URL."""
    (workdir / "chatgate.yaml").write_text(yaml.safe_dump(config))
    base_url = f"http://127.0.0.1:{config['server']['port']}"
    log_path = workdir / "chatgate.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatgate.cli.main", "serve", "--config", str(workdir / "chatgate.yaml")],
            cwd=workdir,
            stdout=log,
            stderr=log,
            env={**os.environ, "OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""},
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"chatgate exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{base_url}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"chatgate did not become healthy:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield base_url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
