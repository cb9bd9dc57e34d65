"""node status history, for the points' availability in the monthly report

Revision ID: d5e8f1a2b3c4
Revises: c41d7a9e0b12
Create Date: 2026-11-23 21:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import controller.models

revision = "d5e8f1a2b3c4"
down_revision = "c41d7a9e0b12"
branch_labels = None
depends_on = None

UTC_TIME = controller.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    log = op.create_table(
        "node_status_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(63), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_node_status_log_node_id", "node_status_log", ["node_id"])
    op.create_index("ix_node_status_log_at", "node_status_log", ["at"])
    # History starts now: each existing node in the status it has, so availability is
    # measured from the upgrade instead of counting the time before it as offline.
    nodes = op.get_bind().execute(sa.text("SELECT id, status FROM nodes")).all()
    at = datetime.now(UTC)
    if nodes and log is not None:
        op.bulk_insert(log, [{"node_id": n, "status": st, "at": at} for n, st in nodes])


def downgrade() -> None:
    op.drop_index("ix_node_status_log_at", "node_status_log")
    op.drop_index("ix_node_status_log_node_id", "node_status_log")
    op.drop_table("node_status_log")
