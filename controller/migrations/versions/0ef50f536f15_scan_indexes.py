"""indexes for what the dispatcher scans and what history pruning deletes

The pending-command scan (every few seconds), one node's pending commands when it comes back,
a withdrawn play's commands, the deliveries still waiting, a node's newest events of a kind,
and the settled rows past their retention. Two single-column indexes give way to composite
ones that start with the same column.

Revision ID: 0ef50f536f15
Revises: d5e8f1a2b3c4
Create Date: 2026-12-06 06:53:11
"""

from __future__ import annotations

from alembic import op

revision = "0ef50f536f15"
down_revision = "d5e8f1a2b3c4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_status", "deliveries", ["status"])
    op.drop_index("ix_node_events_node_id", "node_events")
    op.create_index(
        "ix_node_events_node_id_type_received_at", "node_events", ["node_id", "type", "received_at"]
    )
    op.create_index("ix_node_events_received_at", "node_events", ["received_at"])
    op.drop_index("ix_outbox_node_id", "outbox")
    op.create_index("ix_outbox_node_id_result", "outbox", ["node_id", "result"])
    op.create_index("ix_outbox_play_id", "outbox", ["play_id"])
    op.create_index("ix_outbox_result_expires_at", "outbox", ["result", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_result_expires_at", "outbox")
    op.drop_index("ix_outbox_play_id", "outbox")
    op.drop_index("ix_outbox_node_id_result", "outbox")
    op.create_index("ix_outbox_node_id", "outbox", ["node_id"])
    op.drop_index("ix_node_events_received_at", "node_events")
    op.drop_index("ix_node_events_node_id_type_received_at", "node_events")
    op.create_index("ix_node_events_node_id", "node_events", ["node_id"])
    op.drop_index("ix_deliveries_status", "deliveries")
