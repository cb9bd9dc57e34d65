"""delivery play_at: each airing's own start, for reports that say when it airs

Revision ID: a7d3e5c1b9f2
Revises: a9d3f6b2c8e1
Create Date: 2026-12-06 12:00:00.000000
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import controller.models

revision = "a7d3e5c1b9f2"
down_revision = "a9d3f6b2c8e1"
branch_labels = None
depends_on = None

# Programme airings name their local start: ``p-<item>.<YYYYMMDD>.<HHMMSS>``
# (controller/programme/store.py ``play_id``).
PROGRAMME_PLAY = re.compile(r"^p-.+\.(\d{8})\.(\d{6})$")
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
UTC_TIME = controller.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("play_at", UTC_TIME, nullable=True))
    # Earlier rows: a programme airing's start is in its name; any other play aired at its
    # bulletin's own time (alert repeats keep none: they show as "as soon as sent").
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE deliveries SET play_at = (SELECT play_at FROM bulletins"
            " WHERE bulletins.id = deliveries.bulletin_id) WHERE play_id NOT LIKE 'p-%'"
        )
    )
    rows = bind.execute(sa.text("SELECT id, play_id FROM deliveries WHERE play_id LIKE 'p-%'"))
    for row_id, play_id in rows.all():
        match = PROGRAMME_PLAY.match(play_id)
        if match is None:
            continue
        local = datetime.strptime("".join(match.groups()), "%Y%m%d%H%M%S").replace(tzinfo=LOCAL)
        update = sa.text("UPDATE deliveries SET play_at = :at WHERE id = :id")
        bind.execute(
            update.bindparams(sa.bindparam("at", type_=UTC_TIME)),
            {"at": local.astimezone(UTC), "id": row_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("play_at")
