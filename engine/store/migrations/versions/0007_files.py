"""Files in the database, and the key their signed URLs are checked with.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("session_id", sa.String(512), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("mime_type", sa.String(127), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_files_session_id", "files", ["session_id"])
    op.create_index("ix_files_created_at", "files", ["created_at"])
    signing = op.create_table(
        "file_signing",
        sa.Column("name", sa.String(32), primary_key=True),  # "files": one row
        sa.Column("secret", sa.String(128), nullable=False),
    )
    # Made here, once, under the migration's lock: every process reads the same key.
    op.bulk_insert(signing, [{"name": "files", "secret": secrets.token_hex(32)}])


def downgrade() -> None:
    op.drop_table("file_signing")
    op.drop_index("ix_files_created_at", "files")
    op.drop_index("ix_files_session_id", "files")
    op.drop_table("files")
