"""The API stories' fixtures: one shared ``chatgate serve`` (see ``tests/api/shared_server.py``),
every response checked against the OpenAPI document, and storage on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.openapi_check import ResponseRecorder
from tests.api.postgres import Postgres, postgres_bin
from tests.api.shared_server import POOL_SIZE, SharedServer, serving
from tests.support.chatgate import SEED_WORKFLOW, base_config
from tests.support.net import free_port


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


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """Debian's PostgreSQL, started once for the session (about a second); skipped when not installed."""
    bin_dir = postgres_bin()
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
