"""nodes say whether they read their shard's group topic

Revision ID: d7a2c4e6f8b1
Revises: c9f1a3e5b7d2
Create Date: 2026-12-06 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d7a2c4e6f8b1"
down_revision = "c9f1a3e5b7d2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # False for every point known so far: each says what it reads in its next live state (the
    # broker hands the controller every retained one as it connects); until then its commands
    # go to its own topic, which every agent reads.
    with op.batch_alter_table("nodes") as batch_op:
        batch_op.add_column(
            sa.Column("group_commands", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("nodes") as batch_op:
        batch_op.drop_column("group_commands")
