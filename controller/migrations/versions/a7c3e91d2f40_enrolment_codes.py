"""one-time enrolment codes for new Pis, and refused attempts for rate limiting

Revision ID: a7c3e91d2f40
Revises: 0ef50f536f15
Create Date: 2026-12-06 08:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import controller.models

revision = "a7c3e91d2f40"
down_revision = "0ef50f536f15"
branch_labels = None
depends_on = None

UTC_TIME = controller.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "enrolment_codes",
        sa.Column("code_sha256", sa.String(64), nullable=False),
        sa.Column("node_id", sa.String(63), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("used_at", UTC_TIME, nullable=True),
        sa.Column("used_from", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["node_id"], ["nodes.id"]),
        sa.PrimaryKeyConstraint("code_sha256"),
    )
    op.create_index("ix_enrolment_codes_node_id", "enrolment_codes", ["node_id"])
    op.create_table(
        "enrolment_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("address", "at"):
        op.create_index(f"ix_enrolment_failures_{column}", "enrolment_failures", [column])


def downgrade() -> None:
    op.drop_table("enrolment_failures")
    op.drop_index("ix_enrolment_codes_node_id", "enrolment_codes")
    op.drop_table("enrolment_codes")
