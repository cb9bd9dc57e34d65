"""the latest health report of each node (uptime, temperature, disk, memory, clock, 4G)

Revision ID: a13e4c8d9f21
Revises: a7c3e91d2f40
Create Date: 2026-12-06 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import controller.models

revision = "a13e4c8d9f21"
down_revision = "a7c3e91d2f40"
branch_labels = None
depends_on = None

UTC_TIME = controller.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "node_health",
        sa.Column("node_id", sa.String(63), nullable=False),
        sa.Column("reported_at", UTC_TIME, nullable=False),
        sa.Column("uptime_s", sa.BigInteger(), nullable=True),
        sa.Column("cpu_temp_c", sa.Double(), nullable=True),
        sa.Column("disk_free_bytes", sa.BigInteger(), nullable=True),
        sa.Column("disk_total_bytes", sa.BigInteger(), nullable=True),
        sa.Column("memory_available_bytes", sa.BigInteger(), nullable=True),
        sa.Column("memory_total_bytes", sa.BigInteger(), nullable=True),
        sa.Column("clock_synced", sa.Boolean(), nullable=True),
        sa.Column("clock_offset_ms", sa.Double(), nullable=True),
        sa.Column("clock_source", sa.String(16), nullable=True),
        sa.Column("cell_signal_pct", sa.Integer(), nullable=True),
        sa.Column("cell_technology", sa.String(40), nullable=True),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"]),
        sa.PrimaryKeyConstraint("node_id"),
    )


def downgrade() -> None:
    op.drop_table("node_health")
