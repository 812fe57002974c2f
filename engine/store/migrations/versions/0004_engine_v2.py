"""Engine v2: how each node of an execution went, and session variables.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("executions", sa.Column("nodes", sa.JSON, nullable=True))
    op.create_table(
        "session_variables",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(512), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("value", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_session_variables_session_id", "session_variables", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_session_variables_session_id", "session_variables")
    op.drop_table("session_variables")
    op.drop_column("executions", "nodes")
