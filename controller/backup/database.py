"""The database part of a backup: SQLite through its online backup API, PostgreSQL through
``pg_dump``/``pg_restore`` (custom format), and the schema revision of either."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import URL, MetaData, create_engine, inspect, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from controller.backup.manifest import BackupError
from controller.db import MIGRATIONS
from controller.private_files import FILE_MODE

SQLITE_FILE = "database/loalang.sqlite3"
PG_FILE = "database/loalang.pgdump"


def kind(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot back up a {name} database (SQLite and PostgreSQL only)")
    return name


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"{url} is not an SQLite file")
    return Path(database)


def copy_sqlite(source: Path, target: Path) -> str:
    """A consistent copy of a live SQLite database into ``target`` (a single file, no WAL);
    returns its schema revision. One backup step reads one snapshot: in WAL mode the
    controller keeps writing meanwhile."""
    if not source.exists():
        raise BackupError(f"the database {source} does not exist")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # self-contained: no -wal beside it
        checked = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if checked != "ok":
            raise BackupError(f"the copy of {source} fails SQLite's integrity check: {checked}")
        return _revision(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the database {source}: {exc}") from None
    finally:
        dst.close()
        src.close()


def _revision(conn: sqlite3.Connection) -> str:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        row = None
    if not row:
        raise BackupError("the database has no schema revision: was it ever set up?")
    return str(row[0])


def sqlite_revision(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return _revision(conn)
    finally:
        conn.close()


def pg_dump(url: str, target: Path) -> str:
    """``pg_dump`` (custom format: compressed, restored with ``pg_restore``) of ``url`` into
    ``target``; returns the schema revision. pg_dump reads one transaction's snapshot."""
    binary = _binary("pg_dump")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    args, env = _libpq(make_url(url))
    _run(
        [binary, "--format=custom", "--no-owner", "--no-privileges", f"--file={target}", *args], env
    )
    return pg_revision(url)


def pg_restore_check(url: str) -> None:
    """The database at ``url`` is reachable and holds no tables."""
    if tables(url):
        raise BackupError(
            f"the database {_shown(url)} is not empty: restore into a new, empty database "
            "(--database-url); nothing was changed"
        )


def pg_restore(dump: Path, url: str) -> None:
    """Restore ``dump`` into the database at ``url`` (empty: ``pg_restore_check``), in one
    transaction, so a failure leaves it empty."""
    binary = _binary("pg_restore")
    args, env = _libpq(make_url(url))
    _run(
        [
            binary,
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            *args,
            str(dump),
        ],
        env,
    )


def empty_again(url: str) -> None:
    """Drop the tables a failed restore left in a database that was empty before it."""
    engine = create_engine(url)
    try:
        found = MetaData()
        found.reflect(engine)
        found.drop_all(engine)
    finally:
        engine.dispose()


def tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(inspect(conn).get_table_names())
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot reach the database {_shown(url)}: {exc.args[0]}") from None
    finally:
        engine.dispose()


def pg_revision(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        raise BackupError(
            f"cannot read the schema revision of {_shown(url)}: {exc.args[0]}"
        ) from None
    finally:
        engine.dispose()
    if not found:
        raise BackupError("the database has no schema revision: was it ever set up?")
    return str(found)


def check_revision_known(revision: str) -> None:
    """A backup from a newer Loa Làng has a schema this one cannot migrate (nor run)."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    try:
        known = scripts.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(
            f"the backup's schema revision {revision} is unknown to this Loa Làng: it was made by "
            "a newer version; restore it with that version (or a newer one)"
        )


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not on PATH: install the PostgreSQL client (postgresql-client)"
        )
    return found


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for the PostgreSQL tools; the password goes in the environment,
    where no other account can read it (a command line is visible in ps)."""
    args = [f"--dbname={url.database or 'postgres'}"]
    if url.host:
        args.append(f"--host={url.host}")
    if url.port:
        args.append(f"--port={url.port}")
    if url.username:
        args.append(f"--username={url.username}")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return [*args, "--no-password"], env


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        name = Path(args[0]).name
        raise BackupError(f"{name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
