"""`loa backup DIR`: a consistent copy of a running controller's data into a new directory.

The database is copied first (one snapshot), then the files. The audio store is
content-addressed and only ever gains files, so every sound the snapshot refers to is already
there when the store is listed; a file that appears later is copied whole or not at all (its
copy must hash to its name), and one the snapshot needs but the store lacks is named in the
manifest. The backup is built under a hidden name and renamed only once its manifest is
written, so a crash never leaves something that looks like a backup.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path

from sqlalchemy import create_engine, text

from controller.backup import database
from controller.backup.manifest import (
    MANIFEST,
    BackupError,
    Manifest,
    copy_hashed,
    hash_file,
    is_sha256,
)
from controller.config import ControllerConfig
from controller.nodes import bootstrap, broker_tls
from controller.private_files import private_dir, write_private
from schedules import LOCAL

PREFIX = "loalang-"
STAMP = "%Y%m%d-%H%M%S"
Clock = Callable[[], datetime]


def local_now() -> datetime:
    return datetime.now(LOCAL)


@dataclass(frozen=True)
class Made:
    path: Path
    manifest: Manifest

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.manifest.files.values())


def version() -> str:
    try:
        return metadata.version("loalang")
    except metadata.PackageNotFoundError:
        return "unknown"


def make_backup(config: ControllerConfig, dest: Path, *, clock: Clock = local_now) -> Made:
    """A new backup of ``config``'s data under ``dest`` (made 0700 if missing)."""
    when = clock().astimezone(LOCAL)
    if dest.exists() and not dest.is_dir():
        raise BackupError(f"{dest} is not a directory")
    private_dir(dest)
    final = _free_name(dest, PREFIX + when.strftime(STAMP))
    staging = dest / f".{final.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    private_dir(staging)
    try:
        manifest = Manifest(
            loalang_version=version(),
            created_at=when.isoformat(timespec="seconds"),
            source=str(config.data_dir.resolve()),
            database=database.kind(config.db_url),
            schema_revision="",
        )
        manifest.schema_revision = _copy_database(config, staging, manifest)
        _copy_files(config, staging, manifest)
        _copy_audio(config, staging, manifest)
        write_private(staging / MANIFEST, manifest.to_json())
        staging.rename(final)
    except OSError as exc:  # a full or failing backup disk: said, and nothing half-made kept
        shutil.rmtree(staging, ignore_errors=True)
        raise BackupError(f"backup into {dest} failed, nothing kept: {exc}") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Made(final, manifest)


def _free_name(dest: Path, name: str) -> Path:
    candidate, n = dest / name, 1
    while candidate.exists() or (dest / f".{candidate.name}.partial").exists():
        n += 1
        candidate = dest / f"{name}-{n}"
    return candidate


def _copy_database(config: ControllerConfig, staging: Path, manifest: Manifest) -> str:
    if manifest.database == "sqlite":
        target = staging / database.SQLITE_FILE
        revision = database.copy_sqlite(database.sqlite_path(config.db_url), target)
        name = database.SQLITE_FILE
    else:
        target = staging / database.PG_FILE
        revision = database.pg_dump(config.db_url, target)
        name = database.PG_FILE
    manifest.files[name] = hash_file(target)
    return revision


def _copy_files(config: ControllerConfig, staging: Path, manifest: Manifest) -> None:
    """The config, keys, broker accounts and TLS files, the provisioned node configs and the
    release wheels."""
    data = config.data_dir
    wanted: dict[str, Path] = {bootstrap.CONFIG_NAME: bootstrap.config_path(data)}
    keys = config.key_file.parent
    wanted[f"keys/{config.key_file.name}"] = config.key_file  # the one key nodes pin: required
    for path in sorted(keys.rglob("*")) if keys.is_dir() else []:
        if path.is_file():
            wanted[f"keys/{path.relative_to(keys).as_posix()}"] = path
    for name in ("passwd", "acl"):
        wanted[f"broker/{name}"] = config.broker_dir / name
    tls = broker_tls.listener(config)
    if config.mqtt_tls_files and tls is not None:  # given files live elsewhere: keep them too
        mine = broker_tls.default_files(Path("broker/tls"))
        for theirs, ours in zip(
            (tls.files.ca_file, tls.files.cert_file, tls.files.key_file),
            (mine.ca_file, mine.cert_file, mine.key_file),
            strict=True,
        ):
            wanted[ours.as_posix()] = theirs
    elif config.broker_tls_dir.is_dir():
        for path in sorted(config.broker_tls_dir.rglob("*")):
            if path.is_file():
                wanted[f"broker/tls/{path.relative_to(config.broker_tls_dir).as_posix()}"] = path
    for path in sorted(config.https_dir.rglob("*")) if config.https_dir.is_dir() else []:
        if path.is_file():  # `loa init --https-host`'s web certificate: labels pin it
            wanted[f"https/{path.relative_to(config.https_dir).as_posix()}"] = path
    for path in sorted(config.nodes_dir.glob("*/node.json")):
        wanted[f"nodes/{path.parent.name}/node.json"] = path
    for path in sorted(config.release_dir.glob("*.whl")):  # signed wheels the points fetch
        wanted[f"releases/{path.name}"] = path
    for name, source in wanted.items():
        try:
            manifest.files[name] = copy_hashed(source, staging / name)
        except FileNotFoundError:
            if name == bootstrap.CONFIG_NAME or name.startswith(("keys/", "broker/passwd")):
                raise BackupError(
                    f"{source} is missing: is {data} a set-up data directory?"
                ) from None
            manifest.skipped[name] = "not there at the time of the backup"


def _copy_audio(config: ControllerConfig, staging: Path, manifest: Manifest) -> None:
    store = config.audio_dir
    for path in listing(store):
        _copy_one_audio(path, staging, manifest)
    for digest in sorted(_referenced_audio(config, staging, manifest)):
        name = f"audio/{digest}.ogg"
        if name in manifest.files:
            continue
        source = store / f"{digest}.ogg"
        if source.exists():  # stored after the listing above
            _copy_one_audio(source, staging, manifest)
        else:
            manifest.skipped[name] = "in the database but missing from the audio store"


def listing(store: Path) -> list[Path]:
    return sorted(store.iterdir()) if store.is_dir() else []


def _copy_one_audio(path: Path, staging: Path, manifest: Manifest) -> None:
    name = f"audio/{path.name}"
    digest = path.name.removesuffix(".ogg")
    if not path.name.endswith(".ogg") or not is_sha256(digest) or not path.is_file():
        manifest.skipped[name] = "not a stored sound (its name is not <sha256>.ogg)"
        return
    target = staging / name
    try:
        entry = copy_hashed(path, target)
    except FileNotFoundError:
        target.unlink(missing_ok=True)
        manifest.skipped[name] = "removed during the backup"
        return
    if entry.sha256 != digest:  # being written in place, or damaged at rest: never half
        target.unlink()
        manifest.skipped[name] = "its content does not match its name (damaged or being written)"
        return
    manifest.files[name] = entry


def _referenced_audio(config: ControllerConfig, staging: Path, manifest: Manifest) -> set[str]:
    """The sounds the database copy refers to (for PostgreSQL, the live database's)."""
    query = "SELECT sha256 FROM audio_files"
    if manifest.database == "sqlite":
        conn = sqlite3.connect(staging / database.SQLITE_FILE)
        try:
            return {str(row[0]) for row in conn.execute(query)}
        finally:
            conn.close()
    engine = create_engine(config.db_url)
    try:
        with engine.connect() as live:
            return {str(sha) for sha in live.execute(text(query)).scalars()}
    finally:
        engine.dispose()
