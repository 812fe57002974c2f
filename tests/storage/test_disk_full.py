"""A full disk: executions are refused with 503 (nothing unstored is acknowledged), and the
log says the database is full without quoting what users sent.

The disk is real and really full: the server runs in a user and mount namespace of its own
(``unshare``), with its data directory on a tmpfs of a few hundred KiB that only it sees.
Nothing outside that process is affected, and the mount goes when it ends.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg.exceptions
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi

from engine.store.refusals import out_of_space
from tests.api.support import assert_error
from tests.support.chatgate import SEED_WORKFLOW, ChatgateProcess, base_config
from tests.support.net import free_port

DISK = "768k"
MARKER = "users-own-words-5be0"


def _namespaces_work() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run(
        [unshare, "--user", "--map-root-user", "--mount", "true"], capture_output=True, check=False
    )
    return probe.returncode == 0


class OnASmallDisk(ChatgateProcess):
    """``chatgate serve`` whose data directory is a tiny tmpfs, mounted in its own namespace."""

    def command(self) -> list[str]:
        data = self.workdir / "data"
        data.mkdir(exist_ok=True)
        mount_then_serve = f'mount -t tmpfs -o size={DISK} chatgate-test "$1" && shift && exec "$@"'
        return [
            *("unshare", "--user", "--map-root-user", "--mount", "sh", "-c", mount_then_serve, "sh"),
            str(data),
            *super().command(),
        ]


@pytest.fixture
async def small_disk(tmp_path: Path) -> AsyncIterator[ChatgateProcess]:
    if not _namespaces_work():
        pytest.skip("unshare --user --mount is not permitted here: no private tmpfs to fill")
    (tmp_path / "workflows").mkdir()
    shutil.copy(SEED_WORKFLOW, tmp_path / "workflows" / "support_bot.json")
    gw = OnASmallDisk(
        tmp_path, base_config(free_port(), tmp_path), {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
    )
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop(signal.SIGKILL)


async def test_a_full_disk_refuses_executions_with_503_and_loses_nothing_acknowledged(
    small_disk: ChatgateProcess,
) -> None:
    text = (MARKER + " ") * 3000  # ~60 KB; the record holds it several times over
    acknowledged: list[str] = []
    async with small_disk.client() as http:
        for _ in range(40):
            r = await http.post(
                "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": text}}
            )
            body = await r.json()
            if r.status != 200:
                break
            acknowledged.append(body["execution_id"])
        assert r.status == 503, body
        error = assert_error(body, "service_unavailable")
        assert "no space" in error["message"]
        assert "nothing was stored" in error["message"]
        assert acknowledged, "the disk filled before the first execution: make DISK larger"
        for execution_id in acknowledged:  # every one answered 200 is stored
            stored = await http.get(f"/api/v1/executions/{execution_id}")
            assert stored.status == 200
        assert (await http.get("/healthz")).status == 200
    logs = small_disk.logs()
    assert "database full" in logs
    assert MARKER not in logs  # no user input in the log, at any level


def _sqlite_full() -> sqlite3.Error:
    """A real SQLITE_FULL: an in-memory database allowed two pages."""
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("PRAGMA max_page_count = 2")
        try:
            db.execute("INSERT INTO t VALUES (?)", ("x" * 100_000,))
        except sqlite3.Error as e:
            return e
    raise AssertionError("the insert fitted")


def test_a_full_database_is_recognised_on_either_engine_however_wrapped() -> None:
    full = _sqlite_full()
    assert out_of_space(full)
    assert out_of_space(sa.exc.OperationalError("INSERT …", None, full))  # as SQLAlchemy raises it
    pg = asyncpg.exceptions.DiskFullError("could not extend file")
    adapted = AsyncAdapt_asyncpg_dbapi.OperationalError(pg.args[0], pg)  # SQLAlchemy's asyncpg adapter
    assert out_of_space(sa.exc.OperationalError("INSERT …", None, adapted))
    assert out_of_space(OSError(errno.ENOSPC, "No space left on device"))


def test_other_write_failures_are_not_taken_for_a_full_disk() -> None:
    assert not out_of_space(sqlite3.IntegrityError("UNIQUE constraint failed: executions.id"))
    assert not out_of_space(asyncpg.exceptions.UniqueViolationError("duplicate key"))
    assert not out_of_space(OSError(errno.EIO, "I/O error"))
    assert not out_of_space(RuntimeError("SQLite insert process: OperationalError: database is locked"))
