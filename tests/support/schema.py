"""The schema revision this tree migrates to, for tests that compare against it, and the
databases that tests of one migration start from."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from controller.db import MIGRATIONS, make_engine, migrate

HEAD: str = ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


def migrated_with_rows(path: Path, revision: str, rows: str) -> Engine:
    """A SQLite file at ``revision`` holding ``rows`` (SQL statements separated by ``;``),
    then migrated to the newest revision."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine, revision)
    with engine.begin() as conn:
        for statement in rows.split(";"):
            if statement.strip():
                conn.execute(text(statement))
    migrate(engine)
    return engine
