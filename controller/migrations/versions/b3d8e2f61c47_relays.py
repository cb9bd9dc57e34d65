"""relays (tiếp âm) and their runs

Revision ID: b3d8e2f61c47
Revises: a7c3e91b5d20
Create Date: 2026-12-06 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from controller.models import UTCDateTime

revision = "b3d8e2f61c47"
down_revision = "a7c3e91b5d20"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relays",
        sa.Column("id", sa.String(length=70), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("recurrence", sa.JSON(), nullable=False),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("nodes", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "relay_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("relay_id", sa.String(length=70), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=False),
        sa.Column("play_id", sa.String(length=80), nullable=True),
        sa.Column("bulletin_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("seconds_relayed", sa.Float(), nullable=False),
        sa.Column("seconds_filled", sa.Float(), nullable=False),
        sa.Column("gaps", sa.JSON(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_relay_runs_relay_id", "relay_runs", ["relay_id"])


def downgrade() -> None:
    op.drop_index("ix_relay_runs_relay_id", table_name="relay_runs")
    op.drop_table("relay_runs")
    op.drop_table("relays")
