"""bulletin public choice

Revision ID: e1f4a8c2d9b7
Revises: e4b9d2c71a05
Create Date: 2026-12-06 09:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e1f4a8c2d9b7"
down_revision = "e4b9d2c71a05"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Bulletins made before the choice existed stay off the public pages: nobody chose to
    # publish them (alerts are public whatever the column says).
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.drop_column("public")
