"""Executions waiting for an answer (question nodes).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waiting_executions",
        sa.Column("execution_id", sa.String(64), primary_key=True),
        sa.Column("workflow_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("session_id", sa.String(512), nullable=True),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("question", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_waiting_executions_session_id", "waiting_executions", ["session_id"])
    op.create_index("ix_waiting_executions_expires_at", "waiting_executions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_waiting_executions_expires_at", "waiting_executions")
    op.drop_index("ix_waiting_executions_session_id", "waiting_executions")
    op.drop_table("waiting_executions")
