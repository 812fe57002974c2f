"""The Telegram inbox: updates received and not yet answered.

Before this migration the Telegram adapter created the table itself (``create_all``) on
databases that ran a Telegram bot; there it exists already, exactly like this, and is kept.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("telegram_inbox"):
        return
    op.create_table(
        "telegram_inbox",
        sa.Column("source", sa.String(128), primary_key=True),
        sa.Column("update_id", sa.BigInteger, primary_key=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("telegram_inbox")
