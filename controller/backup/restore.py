"""`loa restore BACKUP --data NEWDIR`: a backup checked whole, then restored into a fresh
directory (and, for PostgreSQL, an empty database), migrated to this version's schema.

Nothing is written before the manifest's checksums, the schema revision, the target and the
config have all been checked; a failure while writing removes what was written.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from controller.backup import database
from controller.backup.manifest import BackupError, Manifest, copy_hashed, verify
from controller.config import ControllerConfig
from controller.nodes import bootstrap
from controller.private_files import private_dir, write_private


@dataclass(frozen=True)
class Restored:
    data_dir: Path
    manifest: Manifest
    schema_revision: str  # after migrating


def restore(backup: Path, data_dir: Path, *, database_url: str | None = None) -> Restored:
    manifest = verify(backup)
    database.check_revision_known(manifest.schema_revision)
    _check_fresh(data_dir)
    data_dir = data_dir.resolve()
    settings = _settings(backup, manifest, data_dir, database_url)
    target_url = settings.get("database_url")
    if target_url:  # PostgreSQL: an empty database, checked before anything is written
        database.pg_restore_check(str(target_url))
    created = not data_dir.exists()
    filled = False  # the PostgreSQL database holds the restored tables
    private_dir(data_dir)
    try:
        _write(backup, manifest, data_dir, settings)
        if target_url:
            database.pg_restore(backup / database.PG_FILE, str(target_url))
            filled = True
        config = bootstrap.setup(data_dir)  # migrates, rewrites the broker ACL, tightens modes
        revision = (
            database.pg_revision(config.db_url)
            if target_url
            else database.sqlite_revision(database.sqlite_path(config.db_url))
        )
    except BaseException as exc:
        _remove_written(data_dir, created)
        if filled:
            database.empty_again(str(target_url))
        if isinstance(exc, (OSError, SQLAlchemyError, sqlite3.Error)):
            raise BackupError(f"restore failed, nothing kept: {exc}") from exc
        raise
    return Restored(data_dir, manifest, revision)


def _check_fresh(data_dir: Path) -> None:
    if data_dir.exists() and not data_dir.is_dir():
        raise BackupError(f"{data_dir} is not a directory")
    if data_dir.is_dir() and any(data_dir.iterdir()):
        raise BackupError(
            f"{data_dir} is not empty: restore only into a new or empty directory "
            "(nothing was changed)"
        )


def _settings(
    backup: Path, manifest: Manifest, data_dir: Path, database_url: str | None
) -> dict[str, Any]:
    """The backup's controller config for its new home: the data directory, the database and
    the TLS files (now in ``broker/tls``) move; everything else stays as it was."""
    try:
        settings = json.loads((backup / bootstrap.CONFIG_NAME).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BackupError(f"the backup's {bootstrap.CONFIG_NAME} cannot be read: {exc}") from None
    if not isinstance(settings, dict):
        raise BackupError(f"the backup's {bootstrap.CONFIG_NAME} is not a JSON object")
    old_dir = str(settings.get("data_dir", ""))
    settings["data_dir"] = str(data_dir)
    tts = settings.get("tts")
    if isinstance(tts, dict) and str(tts.get("cache_dir", "")).startswith(old_dir or "\0"):
        tts.pop("cache_dir")  # the new data directory's own cache, made again on demand
    if settings.get("mqtt_tls_files"):
        settings["mqtt_tls_files"] = None  # the backup keeps them as broker/tls/*
    web = settings.get("http_tls_files")
    if isinstance(web, list) and old_dir:  # the web certificate (labels pin it) moves along
        settings["http_tls_files"] = [_moved(str(f), old_dir, data_dir) for f in web]
    if manifest.database == "sqlite":
        if database_url:
            raise BackupError(
                "this backup holds an SQLite database, restored inside the data directory: "
                "--database-url is for PostgreSQL backups"
            )
        settings["database_url"] = None
    else:
        url = database_url or settings.get("database_url")
        if not url:
            raise BackupError("a PostgreSQL backup needs --database-url: an empty database")
        settings["database_url"] = url
    try:
        ControllerConfig.model_validate(settings)
    except ValidationError as exc:
        lines = "\n  ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise BackupError(
            f"the backup's {bootstrap.CONFIG_NAME} is not valid for this version:\n  {lines}"
        ) from None
    return settings


def _write(backup: Path, manifest: Manifest, data_dir: Path, settings: dict[str, Any]) -> None:
    for name, entry in sorted(manifest.files.items()):
        if name == bootstrap.CONFIG_NAME:
            continue
        if name == database.SQLITE_FILE:
            target = data_dir / "loalang.sqlite3"
        elif name == database.PG_FILE:
            continue  # restored into the database, not the directory
        else:
            target = data_dir / name
        if copy_hashed(backup / name, target) != entry:  # changed since it was checked
            raise BackupError(f"{backup / name} changed while it was restored")
    write_private(data_dir / bootstrap.CONFIG_NAME, json.dumps(settings, indent=2))


def _remove_written(data_dir: Path, created: bool) -> None:
    if created:
        shutil.rmtree(data_dir, ignore_errors=True)
        return
    for child in data_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _moved(path: str, old_dir: str, data_dir: Path) -> str:
    """``path`` inside ``data_dir`` if it was inside ``old_dir``, else unchanged."""
    try:
        return str(data_dir / Path(path).relative_to(old_dir))
    except ValueError:
        return path
