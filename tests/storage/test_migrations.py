"""An operator upgrading chatgate gets its schema from Alembic migrations that match the code."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from engine.clock import utcnow
from engine.store.inbox import InboxRows
from engine.store.migrate import MIGRATIONS, migrate
from engine.store.tables import metadata
from engine.store.urls import async_url
from engine.store.writer import Storage


def _newest() -> str | None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


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


def _columns(connection: sa.Connection) -> dict[str, list[str]]:
    inspector = sa.inspect(connection)
    return {t: [c["name"] for c in inspector.get_columns(t)] for t in inspector.get_table_names()}


async def test_a_fresh_database_gets_every_table_from_the_migrations_alone(storage_url: str) -> None:
    storage = Storage(storage_url)
    await storage.open()  # nothing but the migrations creates tables
    try:
        async with storage.db.connect() as conn:
            found = await conn.run_sync(_columns)
    finally:
        await storage.close()
    assert found.pop("alembic_version") == ["version_num"]
    declared = {name: [c.name for c in table.columns] for name, table in metadata.tables.items()}
    assert found == declared


# The inbox table as the Telegram adapter declared and created it before migration 0003.
_adapter_metadata = sa.MetaData()
_adapter_inbox = sa.Table(
    "telegram_inbox",
    _adapter_metadata,
    sa.Column("source", sa.String(128), primary_key=True),
    sa.Column("update_id", sa.BigInteger, primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)


async def test_a_database_whose_telegram_bot_made_its_inbox_upgrades_and_keeps_it(storage_url: str) -> None:
    # The database of a chatgate from before 0003 that ran a Telegram bot: schema 0002, plus
    # the inbox its adapter created, holding an update that was received but not answered.
    old = create_async_engine(async_url(storage_url))
    try:
        await migrate(old, "0002")
        async with old.begin() as conn:
            await conn.run_sync(_adapter_metadata.create_all)
            await conn.execute(
                _adapter_inbox.insert(),
                {
                    "source": "telegram:tg",
                    "update_id": 7,
                    "payload": '{"update_id": 7}',
                    "received_at": utcnow(),
                },
            )
    finally:
        await old.dispose()

    storage = Storage(storage_url)
    await storage.open()  # the upgrade to this version
    try:
        async with storage.db.connect() as conn:
            assert await conn.run_sync(_diff) == []
            version = (await conn.execute(sa.text("select version_num from alembic_version"))).scalar()
        assert version == _newest()  # and on to the newest
        assert await InboxRows(storage, "telegram:tg").pending() == [(7, '{"update_id": 7}')]
    finally:
        await storage.close()
