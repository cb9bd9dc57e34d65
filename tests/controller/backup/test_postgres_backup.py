"""Backup and restore of a controller on PostgreSQL: pg_dump (custom format) while it is in
use, pg_restore into a new, empty database only, migrated to the current schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from controller.auth import create_user, issue_token
from controller.backup import database
from controller.backup.make import make_backup
from controller.backup.manifest import BackupError
from controller.backup.restore import restore
from controller.cli import main as loa
from controller.db import Database, migrate
from controller.nodes import bootstrap
from controller.nodes.provision import add_node
from node_agent.config import RelayConfig, SinkConfig
from tests.controller.delivery.test_history import PREVIOUS_HEAD
from tests.support.schema import HEAD


@pytest.fixture
def databases(postgres_url: str) -> Iterator[tuple[str, str]]:
    """Two fresh databases on the test server: the controller's and an empty one."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    names = ("loa_backup_src", "loa_backup_dst")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text(f"CREATE DATABASE {name}"))
    base = postgres_url.rsplit("/", 1)[0]
    yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(tuple(r) for r in conn.execute(text(sql)))
    finally:
        engine.dispose()


def test_a_postgresql_controller_is_dumped_and_restored_into_an_empty_database(
    databases: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    src, dst = databases
    config = bootstrap.setup(tmp_path / "data", database_url=src)
    db = Database(src)
    bootstrap.add_zone(db, "thon-1", "Thôn 1")
    with db.session() as s:
        token = issue_token(s, create_user(s, "chi-lan", "mật khẩu dài", "broadcaster"), "cli")
    db.engine.dispose()
    made_node = add_node(
        config,
        name="Loa chợ",
        zone="thon-1",
        sink=SinkConfig(kind="wav"),
        relay=RelayConfig(kind="recording"),
    )
    made = make_backup(config, tmp_path / "backups")
    assert made.manifest.database == "postgresql"
    assert made.manifest.schema_revision == HEAD
    assert database.PG_FILE in made.manifest.files
    assert f"nodes/{made_node.node_id}/node.json" in made.manifest.files

    # the source database is in use: restoring over it is refused, nothing is written
    assert loa(["restore", str(made.path), "--data", str(tmp_path / "new")]) == 2
    assert "is not empty: restore into a new, empty database" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()

    assert (
        loa(["restore", str(made.path), "--data", str(tmp_path / "new"), "--database-url", dst])
        == 0
    )
    for sql in (
        "SELECT id, name FROM nodes",
        "SELECT username, password_hash, role FROM users",
        "SELECT token_sha256 FROM api_tokens",
        "SELECT code, name FROM zones",
        "SELECT version_num FROM alembic_version",
    ):
        assert rows(dst, sql) == rows(src, sql), sql
    assert len(rows(dst, "SELECT token_sha256 FROM api_tokens")) == 1
    assert token
    restored = bootstrap.load_config(tmp_path / "new")
    assert restored.database_url == dst
    assert not (tmp_path / "new" / "loalang.sqlite3").exists()

    # the target is no longer empty: a second restore into it is refused
    with pytest.raises(BackupError, match="is not empty"):
        restore(made.path, tmp_path / "again", database_url=dst)
    assert not (tmp_path / "again").exists()


def test_an_older_postgresql_schema_is_migrated_on_restore(
    databases: tuple[str, str], tmp_path: Path
):
    src, dst = databases
    config = bootstrap.setup(tmp_path / "data", database_url=src)
    engine = create_engine(src)
    with engine.begin() as conn:  # a database as the previous version made it
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    old = Database(src)
    migrate(old.engine, PREVIOUS_HEAD)
    old.engine.dispose()
    made = make_backup(config, tmp_path / "backups")
    assert made.manifest.schema_revision == PREVIOUS_HEAD
    done = restore(made.path, tmp_path / "new", database_url=dst)
    assert done.schema_revision == HEAD
