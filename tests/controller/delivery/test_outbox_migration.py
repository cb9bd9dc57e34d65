"""The migration to group commands keeps every stored command: its envelope moves to its own
table, its row keeps its state, and it is read back as before; and it undoes cleanly."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from controller.db import MIGRATIONS
from tests.support.schema import migrated_with_rows

BEFORE = "b4e8d2a6c1f3"
ROWS = """
PRAGMA foreign_keys = OFF;
INSERT INTO outbox (command_id, node_id, play_id, envelope, expires_at, attempts, result)
  VALUES ('c1', 'n1', 'p1', '{"signed": 1}', '2030-01-01 00:00:00', 2, 'acked'),
  ('c2', 'n2', NULL, '{"signed": 2}', '2030-01-01 00:00:00', 0, 'pending');
"""
READ = """
SELECT o.command_id, o.node_id, o.attempts, o.result, e.envelope
FROM outbox o JOIN command_envelopes e ON e.command_id = o.command_id ORDER BY o.command_id
"""


def test_stored_commands_keep_their_envelopes_and_state_both_ways(tmp_path: Path):
    engine = migrated_with_rows(tmp_path / "old.db", BEFORE, ROWS)
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(READ))] == [
            ("c1", "n1", 2, "acked", '{"signed": 1}'),
            ("c2", "n2", 0, "pending", '{"signed": 2}'),
        ]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, BEFORE)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT command_id, envelope FROM outbox ORDER BY 1"))
        assert [tuple(r) for r in rows] == [("c1", '{"signed": 1}'), ("c2", '{"signed": 2}')]
    engine.dispose()
