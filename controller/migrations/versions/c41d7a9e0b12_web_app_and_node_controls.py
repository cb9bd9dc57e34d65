"""web app (sessions, login failures, approval workflow) and node controls

Revision ID: c41d7a9e0b12
Revises: 3e34276ce3a4
Create Date: 2026-11-23 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import controller.models

revision = "c41d7a9e0b12"
down_revision = "3e34276ce3a4"
branch_labels = None
depends_on = None

UTC_TIME = controller.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("last_seen", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("username", "address", "at"):
        op.create_index(f"ix_login_failures_{column}", "login_failures", [column])
    with op.batch_alter_table("users") as t:
        t.add_column(sa.Column("display_name", sa.String(200), nullable=False, server_default=""))
        t.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
        t.add_column(sa.Column("language", sa.String(8), nullable=False, server_default="vi"))
    with op.batch_alter_table("nodes") as t:
        t.add_column(sa.Column("volume", sa.Integer(), nullable=True))
        t.add_column(sa.Column("signal_dbm", sa.Integer(), nullable=True))
        t.add_column(sa.Column("clock_offset_ms", sa.Float(), nullable=True))
        t.add_column(sa.Column("agent_version", sa.String(40), nullable=False, server_default=""))
    with op.batch_alter_table("bulletins") as t:
        t.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="sent"))
        t.add_column(sa.Column("request", sa.JSON(), nullable=False, server_default="{}"))
        t.add_column(sa.Column("original_path", sa.String(300), nullable=False, server_default=""))
        t.add_column(sa.Column("reviewed_by", sa.Integer(), nullable=True))
        t.add_column(sa.Column("reviewed_at", UTC_TIME, nullable=True))
        t.add_column(sa.Column("review_comment", sa.Text(), nullable=False, server_default=""))
        t.create_foreign_key("fk_bulletins_reviewed_by", "users", ["reviewed_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("bulletins") as t:
        t.drop_constraint("fk_bulletins_reviewed_by", type_="foreignkey")
        for column in (
            "status",
            "request",
            "original_path",
            "reviewed_by",
            "reviewed_at",
            "review_comment",
        ):
            t.drop_column(column)
    with op.batch_alter_table("nodes") as t:
        for column in ("volume", "signal_dbm", "clock_offset_ms", "agent_version"):
            t.drop_column(column)
    with op.batch_alter_table("users") as t:
        for column in ("display_name", "active", "language"):
            t.drop_column(column)
    op.drop_table("login_failures")
    op.drop_table("web_sessions")
