"""The schema revision this tree migrates to, for tests that compare against it."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from controller.db import MIGRATIONS

HEAD: str = ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""
