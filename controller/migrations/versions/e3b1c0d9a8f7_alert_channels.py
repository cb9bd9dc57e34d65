"""alert channels (SMS, Zalo, boards) messages, SMS subscriptions and their attempts

Revision ID: e3b1c0d9a8f7
Revises: e5b18c3f7a92
Create Date: 2026-12-06 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import controller.models

revision = "e3b1c0d9a8f7"
down_revision = "e5b18c3f7a92"
branch_labels = None
depends_on = None

UTC_TIME = controller.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("shortened", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", UTC_TIME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("sent_at", UTC_TIME, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_channel_messages_alert_id", "channel_messages", ["alert_id"])
    op.create_index(
        "ix_channel_messages_channel_status_due",
        "channel_messages",
        ["channel", "status", "due_at"],
    )
    op.create_table(
        "sms_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("number_hash", sa.String(64), nullable=False),
        sa.Column("number_sealed", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("consent_method", sa.String(16), nullable=False),
        sa.Column("consent_by", sa.String(64), nullable=False),
        sa.Column("consent_at", UTC_TIME, nullable=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("code_expires_at", UTC_TIME, nullable=True),
        sa.Column("code_attempts", sa.Integer(), nullable=False),
        sa.Column("ended_at", UTC_TIME, nullable=True),
        sa.Column("ended_how", sa.String(32), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("zone_id", "number_hash"),
    )
    op.create_index("ix_sms_subscriptions_zone_id", "sms_subscriptions", ["zone_id"])
    op.create_index("ix_sms_subscriptions_number_hash", "sms_subscriptions", ["number_hash"])
    op.create_table(
        "subscribe_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("number_hash", sa.String(64), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("address", "number_hash", "at"):
        op.create_index(f"ix_subscribe_attempts_{column}", "subscribe_attempts", [column])


def downgrade() -> None:
    op.drop_table("subscribe_attempts")
    op.drop_table("sms_subscriptions")
    op.drop_table("channel_messages")
