"""outbox keyed by command and node: one signed group command, one row per point

Revision ID: c9f1a3e5b7d2
Revises: b4e8d2a6c1f3
Create Date: 2026-12-06 18:30:00.000000
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import op

revision = "c9f1a3e5b7d2"
down_revision = "b4e8d2a6c1f3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every stored command names one node, so the rows already satisfy the wider key.
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("outbox_pkey", "outbox", type_="primary")
        op.create_primary_key("outbox_pkey", "outbox", ["command_id", "node_id"])
        return
    # SQLite cannot alter a key: batch mode copies the table, its key columns read back with
    # the new key (and the node's foreign key, which overriding the column drops)
    as_read = (
        sa.Column("command_id", sa.String(length=32), nullable=False, primary_key=True),
        sa.Column(
            "node_id",
            sa.String(length=63),
            sa.ForeignKey("nodes.id"),
            nullable=False,
            primary_key=True,
        ),
    )
    with op.batch_alter_table("outbox", recreate="always", reflect_args=as_read):
        pass


def downgrade() -> None:
    # Fails if a group command (one id, many rows) is still stored: prune or wait for expiry.
    # SQLAlchemy warns that the copied table's columns still say the old key: the new key wins.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table("outbox") as batch_op:
            if op.get_bind().dialect.name != "sqlite":
                batch_op.drop_constraint("outbox_pkey", type_="primary")
            batch_op.create_primary_key("outbox_pkey", ["command_id"])
