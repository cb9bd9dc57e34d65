"""live breaks: each stretch a point was cut off a live session and rejoined

Revision ID: b4e8d2a6c1f3
Revises: b3d8e2f61c47
Create Date: 2026-12-06 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b4e8d2a6c1f3"
down_revision = "b3d8e2f61c47"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sessions reported before had no breaks to tell: None, as for a bulletin.
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("live_breaks", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("live_breaks")
