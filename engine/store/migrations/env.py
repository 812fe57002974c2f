"""Alembic environment: migrations run on the connection chatgate hands over
(``config.attributes["connection"]``), so they work for SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic import context

from engine.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `chatgate migrate` (or Storage.open): they supply the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
