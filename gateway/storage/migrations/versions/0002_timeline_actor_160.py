"""Widen order_timeline.actor to 160 characters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

The actor of a device's timeline entry is ``device:<device id>``, and device ids may be 128
characters long (the registry's limit): 135 characters did not fit in VARCHAR(128), so on
PostgreSQL such an SOS could be stored only minimally (found by tests/fuzzing.py). SQLite does not
enforce VARCHAR lengths, but its declared schema follows the models too (batch mode: the table is
copied once, every row kept).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("order_timeline") as batch:
        batch.alter_column("actor", existing_type=sa.String(length=128), type_=sa.String(length=160),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("order_timeline") as batch:
        batch.alter_column("actor", existing_type=sa.String(length=160), type_=sa.String(length=128),
                           existing_nullable=False)
