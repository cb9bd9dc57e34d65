"""live sessions

Revision ID: a7c3e91b5d20
Revises: a7d3e5c1b9f2
Create Date: 2026-12-06 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a7c3e91b5d20"
down_revision = "a7d3e5c1b9f2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every bulletin stored so far is a bulletin; live sessions are kept from now on.
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="bulletin")
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("live_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("live_gaps", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("live_lost", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("live_lost")
        batch_op.drop_column("live_gaps")
        batch_op.drop_column("live_seconds")
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.drop_column("kind")
