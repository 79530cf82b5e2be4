"""The registry's change counter and pairing sessions (issue 9: pairing the way installers work).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

``registry_version`` holds one row (created by the first change) that every change of the device
registry bumps, so ingest re-reads device models and kinds before the next message.
``pairing_sessions``: "this home, this kind: the next new device heard is it".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "pairing_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("home_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("heard", sa.JSON(), nullable=True),
        sa.Column("paired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pairing_sessions") as batch:
        batch.create_index("ix_pairing_sessions_expires_at", ["expires_at"], unique=False)
        batch.create_index("ix_pairing_sessions_status", ["status"], unique=False)
    op.create_table(
        "registry_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("registry_version")
    with op.batch_alter_table("pairing_sessions") as batch:
        batch.drop_index("ix_pairing_sessions_status")
        batch.drop_index("ix_pairing_sessions_expires_at")
    op.drop_table("pairing_sessions")
