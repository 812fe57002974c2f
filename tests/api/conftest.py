"""One shared ``chatgate serve`` for the stories that need no special config.

Starting chatgate costs about a second and a half, so the stateless stories
(validation errors, CRUD, rate limits on fresh keys) share one real process.
Each story takes its own API key from a pool, so its workflows, sessions and
rate-limit counters are its own: nothing one story does is visible to another.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.api.openapi_check import ResponseRecorder
from tests.conftest import SEED_WORKFLOW, base_config, free_port

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


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServer]:
    workdir = tmp_path_factory.mktemp("shared")
    (workdir / "workflows").mkdir()
    shutil.copy(SEED_WORKFLOW, workdir / "workflows" / "support_bot.json")
    config = base_config(free_port(), workdir)
    config["api_keys"] = [
        {"key": f"{tier}-key-{i:03d}-0123456789", "name": f"{tier}{i:03d}", "tier": tier}
        for tier, i in itertools.product(("paid", "free"), range(POOL_SIZE))
    ]
    with serving(workdir, config) as base_url:
        yield SharedServer(base_url, workdir)


@pytest.fixture(autouse=True)
def responses_match_the_document(monkeypatch: pytest.MonkeyPatch) -> Iterator[ResponseRecorder]:
    """Every story is also a check of the OpenAPI document: each response it read from
    chatgate must be one the server's own document allows (status, content type, schema)."""
    recorder = ResponseRecorder()
    recorder.install(monkeypatch)
    yield recorder
    problems = recorder.problems()
    assert not problems, "responses the OpenAPI document does not allow:\n" + "\n".join(problems[:20])


# -- PostgreSQL ------------------------------------------------------------------


def _postgres_bin() -> Path | None:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists():
            return d
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class Postgres:
    """A throwaway PostgreSQL cluster; each story gets a database of its own."""

    def __init__(self, bin_dir: Path, port: int, as_user: list[str]) -> None:
        self.bin_dir = bin_dir
        self.port = port
        self.as_user = as_user
        self._names = (f"chatgate_{i}" for i in itertools.count())

    def new_database(self) -> str:
        name = next(self._names)
        subprocess.run(
            [
                *self.as_user,
                str(self.bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "chatgate",
                name,
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return f"postgresql+asyncpg://chatgate@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """Debian's PostgreSQL, started once for the session (about a second); skipped when not installed."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql) - storage ran on SQLite only")
    root = Path(tempfile.mkdtemp(prefix="chatgate-pg-"))
    # PostgreSQL refuses to run as root; under root it runs as the postgres user.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "postgres")
    port = free_port()
    data = root / "data"
    try:
        subprocess.run(
            [
                *as_user,
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "chatgate",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        subprocess.run(
            [
                *as_user,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "log"),
                "-w",
                "-o",
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield Postgres(bin_dir, port, as_user)
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request: pytest.FixtureRequest) -> str | None:
    """Run a storage story on both databases: None keeps the test config's SQLite file."""
    if request.param == "sqlite":
        return None
    pg: Postgres = request.getfixturevalue("postgres")
    return pg.new_database()
