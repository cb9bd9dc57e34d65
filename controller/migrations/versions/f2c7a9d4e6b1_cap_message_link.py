"""cap message link

Revision ID: f2c7a9d4e6b1
Revises: e1f4a8c2d9b7
Create Date: 2026-12-06 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "f2c7a9d4e6b1"
down_revision = "e1f4a8c2d9b7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Messages stored before the column existed have no link: the poller fetches each linked
    # document once more and then recognises it (the key still drops it as a duplicate).
    with op.batch_alter_table("cap_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link", sa.String(length=500), nullable=True))
        batch_op.create_index("ix_cap_messages_link", ["link"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cap_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_cap_messages_link")
        batch_op.drop_column("link")
