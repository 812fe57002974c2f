"""Every table chatgate keeps, as SQLAlchemy Core declares it; Alembic migrations create them
(tests/storage/test_migrations.py fails when one is declared here without a migration)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

workflows = sa.Table(
    "workflows",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

executions = sa.Table(
    "executions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("workflow_id", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("session_id", sa.String(512), nullable=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("error", sa.JSON, nullable=True),
    sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
    # How each node went: {node_id: {type, status, attempts, duration_ms, port, error}}.
    sa.Column("nodes", sa.JSON, nullable=True),
)

# Values ``variable`` nodes set for a session: one row per set, the newest per name counts
# (appended with the execution's record in its commit; superseded rows are trimmed in bulk).
session_variables = sa.Table(
    "session_variables",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(512), nullable=False, index=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("value", sa.JSON, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per exchange: the user's message and the answer to it.
session_turns = sa.Table(
    "session_turns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(512), nullable=False, index=True),
    sa.Column("user_text", sa.Text, nullable=False),
    sa.Column("answer_text", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Chat updates already answered, so a redelivered update is never answered twice.
seen_updates = sa.Table(
    "seen_updates",
    metadata,
    sa.Column("source", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)

# Telegram updates received but not yet answered (bots.delivery.inbox says why).
telegram_inbox = sa.Table(
    "telegram_inbox",
    metadata,
    sa.Column("source", sa.String(128), primary_key=True),  # telegram:<bot name>
    sa.Column("update_id", sa.BigInteger, primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),  # the Update as Telegram sent it (JSON)
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

# API keys made with `chatgate keys create` / the admin API; keys from the config file are
# never stored. Only the key's SHA-256 digest is kept: the key itself is shown once.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("tier", sa.String(64), nullable=False),
    sa.Column("admin", sa.Boolean, nullable=False),
    sa.Column("read_only", sa.Boolean, nullable=False),
    sa.Column("workflows", sa.JSON, nullable=True),  # names/ids it may run; null: any
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_api_keys_digest", "digest", unique=True),
)

# Executions waiting for the user's answer to a question node: all a resume needs (the run's
# position and pool, the question, which workflow version asked). A resume claims its row by
# deleting it, so an answer is taken once across processes; waiting again writes a new row.
waiting_executions = sa.Table(
    "waiting_executions",
    metadata,
    sa.Column("execution_id", sa.String(64), primary_key=True),
    sa.Column("workflow_id", sa.String(64), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),  # digest of the workflow document
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("session_id", sa.String(512), nullable=True, index=True),
    sa.Column("node_id", sa.String(64), nullable=False),
    sa.Column("question", sa.JSON, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),  # answers that matched nothing so far
    sa.Column("state", sa.JSON, nullable=False),  # the run's position, sys, caller
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # While a resume runs: the row is its until then; a resume that died leaves it to the next.
    sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
)

# Files workflows took in or sent out, bytes and all: in the database, so every process (on
# any host) that shares it can serve them. ``data`` last, so reading the others skips it.
files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("session_id", sa.String(512), nullable=True, index=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("mime_type", sa.String(127), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

# The key signed file URLs are checked with: made once by the migration, so every process
# sharing the database agrees on it. Never logged, never served.
file_signing = sa.Table(
    "file_signing",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),  # "files": one row
    sa.Column("secret", sa.String(128), nullable=False),
)
