"""outbox for group commands: keyed by command and node, each signed envelope stored once

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
    # Every stored command names one node, so the rows already satisfy the wider key, and
    # each command's envelope moves to its own row as it is.
    op.create_table(
        "command_envelopes",
        sa.Column("command_id", sa.String(length=32), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("command_id"),
    )
    op.execute(
        "INSERT INTO command_envelopes (command_id, envelope)"
        " SELECT command_id, envelope FROM outbox"
    )
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("outbox_pkey", "outbox", type_="primary")
        op.create_primary_key("outbox_pkey", "outbox", ["command_id", "node_id"])
        op.create_foreign_key(
            "fk_outbox_command_id", "outbox", "command_envelopes", ["command_id"], ["command_id"]
        )
        op.drop_column("outbox", "envelope")
        return
    # SQLite cannot alter a key: batch mode copies the table, its key columns read back with
    # the new key and foreign keys (the node's is dropped by overriding the column)
    as_read = (
        sa.Column(
            "command_id",
            sa.String(length=32),
            sa.ForeignKey("command_envelopes.command_id", name="fk_outbox_command_id"),
            nullable=False,
            primary_key=True,
        ),
        sa.Column(
            "node_id",
            sa.String(length=63),
            sa.ForeignKey("nodes.id"),
            nullable=False,
            primary_key=True,
        ),
    )
    with op.batch_alter_table("outbox", recreate="always", reflect_args=as_read) as batch_op:
        batch_op.drop_column("envelope")


def downgrade() -> None:
    # Fails if a group command (one id, many rows) is still stored: prune or wait for expiry.
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("envelope", sa.Text(), nullable=False, server_default=""))
    op.execute(
        "UPDATE outbox SET envelope = (SELECT e.envelope FROM command_envelopes e"
        " WHERE e.command_id = outbox.command_id)"
    )
    # SQLAlchemy warns that the copied table's columns still say the old key: the new key wins.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table("outbox") as batch_op:
            batch_op.drop_constraint("fk_outbox_command_id", type_="foreignkey")
            if op.get_bind().dialect.name != "sqlite":
                batch_op.drop_constraint("outbox_pkey", type_="primary")
            batch_op.create_primary_key("outbox_pkey", ["command_id"])
    op.drop_table("command_envelopes")
