"""Bringing a database's schema up to date with the Alembic migrations of ``migrations/``."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x63686174676174  # any constant shared by every chatgate ("chatgat")


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade to ``revision`` (idempotent; chatgate runs it on every start)."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Several processes starting at once: one migrates, the others wait for its
            # commit and find nothing left to do (held until this transaction ends).
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await conn.run_sync(upgrade, revision)


def upgrade(connection: sa.Connection, revision: str = "head") -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    alembic_command.upgrade(config, revision)
