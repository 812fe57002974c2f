"""An operator upgrading chatgate gets its schema from Alembic migrations that match the code."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.store.tables import metadata
from engine.store.writer import Storage


def _diff(connection: sa.Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def test_the_migrated_schema_is_exactly_what_the_code_expects(storage_url: str) -> None:
    storage = Storage(storage_url)
    await storage.open()  # applies the migrations
    try:
        async with storage.db.connect() as conn:
            assert await conn.run_sync(_diff) == []
            version = (await conn.execute(sa.text("select version_num from alembic_version"))).scalar()
        assert version is not None
        await storage.migrate()  # running it again is harmless
    finally:
        await storage.close()


def test_chatgate_migrate_brings_a_new_database_up_to_date(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    config = tmp_path / "chatgate.yaml"
    config.write_text(f"storage: {{url: 'sqlite:///{db}'}}\napi_keys: [{{key: k-0123456789, name: a}}]\n")
    done = subprocess.run(
        [sys.executable, "-m", "chatgate.cli.main", "migrate", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout

    async def tables() -> set[str]:
        storage = Storage(f"sqlite:///{db}")
        await storage.open()
        try:
            async with storage.db.connect() as conn:
                return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
        finally:
            await storage.close()

    assert {"workflows", "executions", "session_turns", "seen_updates", "alembic_version"} <= asyncio.run(
        tables()
    )
