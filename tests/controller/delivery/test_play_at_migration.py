"""The migration that gives each delivery its airing's start fills it in for earlier rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from tests.support.schema import migrated_with_rows

# the rows the migration reads; the others they point to do not matter here
ROWS = """
PRAGMA foreign_keys = OFF;
INSERT INTO bulletins (id, title, audio_sha256, original_filename, processing_report, priority,
  play_at, valid_until, created_by, created_at, request, original_path, review_comment)
  VALUES ('b1', 'T', 'h', '', '{}', 'normal', '2030-01-02 03:04:00', '2030-01-02 04:00:00', 1,
  '2030-01-01 00:00:00', '{}', '', '');
INSERT INTO deliveries (play_id, bulletin_id, node_id, status, reason, updated_at)
  VALUES ('b1', 'b1', 'n1', 'queued', '', '2030-01-01 00:00:00'),
  ('p-item.20301207.060000', 'b1', 'n1', 'queued', '', '2030-01-01 00:00:00');
"""


def test_earlier_deliveries_get_their_airings_start(tmp_path: Path):
    engine = migrated_with_rows(tmp_path / "old.db", "f2c7a9d4e6b1", ROWS)
    with engine.connect() as conn:
        got: dict[str, str] = dict(
            conn.execute(text("SELECT play_id, play_at FROM deliveries")).all()
        )
    engine.dispose()
    assert got["b1"].startswith("2030-01-02 03:04:00")  # the bulletin's own time
    # 06:00 in Asia/Ho_Chi_Minh is 23:00 UTC the day before
    at = datetime(2030, 12, 6, 23, 0, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert got["p-item.20301207.060000"].startswith(at)
