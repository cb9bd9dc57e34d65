"""villagers' loudspeaker fault reports

Revision ID: e4b9d2c71a05
Revises: e3b1c0d9a8f7
Create Date: 2026-12-06 09:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import controller.models

revision = "e4b9d2c71a05"
down_revision = "e3b1c0d9a8f7"
branch_labels = None
depends_on = None

UTC_TIME = controller.models.UTCDateTime(timezone=True)
INDEXED = ("zone_id", "node_id", "sender", "created_at")


def upgrade() -> None:
    op.create_table(
        "fault_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(63), nullable=True),
        sa.Column("problem", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("resolved_at", UTC_TIME, nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"]),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in INDEXED:
        op.create_index(f"ix_fault_reports_{column}", "fault_reports", [column])


def downgrade() -> None:
    for column in INDEXED:
        op.drop_index(f"ix_fault_reports_{column}", "fault_reports")
    op.drop_table("fault_reports")
