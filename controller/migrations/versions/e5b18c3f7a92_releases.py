"""signed releases and each point's target version, for updates

Revision ID: e5b18c3f7a92
Revises: a13e4c8d9f21
Create Date: 2026-12-06 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import controller.models

revision = "e5b18c3f7a92"
down_revision = "a13e4c8d9f21"
branch_labels = None
depends_on = None

UTC_TIME = controller.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("filename", sa.String(120), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("version"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_table(
        "node_updates",
        sa.Column("node_id", sa.String(63), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("command_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"]),
        sa.ForeignKeyConstraint(["version"], ["releases.version"]),
        sa.PrimaryKeyConstraint("node_id"),
    )
    op.create_index("ix_node_updates_command_id", "node_updates", ["command_id"])


def downgrade() -> None:
    op.drop_index("ix_node_updates_command_id", "node_updates")
    op.drop_table("node_updates")
    op.drop_table("releases")
