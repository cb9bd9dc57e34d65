"""`loa backup` then `loa restore` on a real SQLite data directory: the same data comes back,
a damaged backup or a used directory is refused, and nothing is half-done."""

from __future__ import annotations

import errno
import hashlib
import json
import sqlite3
import stat
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from controller.backup import database, make
from controller.backup.make import make_backup
from controller.backup.manifest import MANIFEST, BackupError, copy_hashed, hash_file
from controller.backup.restore import restore
from controller.cli import main as loa
from controller.db import Database, migrate
from controller.models import ApiToken, Bulletin, Node, User
from controller.nodes import bootstrap, broker_tls
from schedules import LOCAL
from tests.controller.commune import Commune
from tests.controller.delivery.test_history import PREVIOUS_HEAD
from tests.support.schema import HEAD


def rows(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(data_dir / "loalang.sqlite3")
    try:
        return sorted(conn.execute(sql).fetchall())
    finally:
        conn.close()


SAME = (
    "SELECT id, title, audio_sha256, priority FROM bulletins",
    "SELECT id, name, zone_id FROM nodes",
    "SELECT username, password_hash, role FROM users",
    "SELECT token_sha256, user_id FROM api_tokens",
    "SELECT node_id, bulletin_id, status FROM deliveries",
    "SELECT code, name FROM zones",
)


def test_restore_gives_back_the_same_data_keys_and_accounts(data: Commune, tmp_path: Path):
    made = make_backup(data.config, tmp_path / "backups")
    assert loa(["restore", str(made.path), "--data", str(tmp_path / "new")]) == 0
    new, old = tmp_path / "new", data.config.data_dir
    for sql in SAME:
        assert rows(new, sql) == rows(old, sql), sql
    assert rows(new, "SELECT count(*) FROM bulletins") == [(2,)]
    for name in ("keys/controller_ed25519.pem", "broker/passwd"):
        assert (new / name).read_bytes() == (old / name).read_bytes(), name
    for node_id in data.nodes_in("thon-dong", "thon-tay", "thon-bac"):
        assert (new / "nodes" / node_id / "node.json").read_bytes() == (
            old / "nodes" / node_id / "node.json"
        ).read_bytes()
    assert (new / "broker" / "acl").read_text() == (old / "broker" / "acl").read_text()
    with data.db.session() as s:
        sounds = {b.audio_sha256 for b in s.scalars(select(Bulletin))}
    for sha in sounds:
        stored = (new / "audio" / f"{sha}.ogg").read_bytes()
        assert hashlib.sha256(stored).hexdigest() == sha
    config = bootstrap.load_config(new)
    assert config.data_dir == new.resolve()
    assert config.tts.cache_dir == new.resolve() / "tts-cache"
    assert config.mqtt_password == data.config.mqtt_password
    restored = Database(config.db_url)  # the ORM reads it: accounts and tokens are usable
    try:
        with restored.session() as s:
            assert s.scalar(select(User).where(User.username == "admin")) is not None
            assert len(s.scalars(select(ApiToken)).all()) >= 1
            assert len(s.scalars(select(Node)).all()) == 5
    finally:
        restored.engine.dispose()


def test_the_backup_is_private_and_its_manifest_names_every_file(data: Commune, tmp_path: Path):
    when = datetime(2026, 12, 6, 2, 30, 0, tzinfo=LOCAL)
    made = make_backup(data.config, tmp_path / "backups", clock=lambda: when)
    assert made.path.name == "loalang-20261206-023000"
    manifest = json.loads((made.path / MANIFEST).read_text())
    assert manifest["created_at"] == "2026-12-06T02:30:00+07:00"
    assert manifest["loalang_version"] == "0.1.0"
    assert manifest["schema_revision"] == HEAD
    assert manifest["database"] == "sqlite"
    files = {p.relative_to(made.path).as_posix() for p in made.path.rglob("*") if p.is_file()}
    assert files == set(manifest["files"]) | {MANIFEST}
    for name, entry in manifest["files"].items():
        assert hash_file(made.path / name).sha256 == entry["sha256"], name
    assert {"controller.json", database.SQLITE_FILE, "keys/controller_ed25519.pem"} <= files
    assert {"broker/passwd", "broker/acl"} <= files
    assert sum(name.startswith("audio/") for name in files) == 2
    assert not any(name.startswith(("logs/", "tmp/", "broker/mosquitto")) for name in files)
    for path in [tmp_path / "backups", *made.path.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    # the database copy stands alone: no write-ahead log beside it
    assert not list(made.path.glob("database/*-wal"))
    assert made.manifest.skipped == {}
    second = make_backup(data.config, tmp_path / "backups", clock=lambda: when)
    assert second.path.name == "loalang-20261206-023000-2"


def damage(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    "harm",
    ["flip a byte of a sound", "flip a byte of the database", "lose the key", "add a stray file"],
)
def test_a_corrupt_backup_is_refused_and_nothing_is_written(
    data: Commune, tmp_path: Path, harm: str, capsys: pytest.CaptureFixture[str]
):
    made = make_backup(data.config, tmp_path / "backups")
    if harm == "flip a byte of a sound":
        damage(next((made.path / "audio").iterdir()))
    elif harm == "flip a byte of the database":
        damage(made.path / database.SQLITE_FILE)
    elif harm == "lose the key":
        (made.path / "keys" / "controller_ed25519.pem").unlink()
    else:
        (made.path / "keys" / "extra.pem").write_text("?")
    target = tmp_path / "new"
    assert loa(["restore", str(made.path), "--data", str(target)]) == 2
    err = capsys.readouterr().err
    assert "is corrupt, nothing restored" in err
    assert not target.exists()


def test_a_damaged_manifest_is_refused(data: Commune, tmp_path: Path):
    made = make_backup(data.config, tmp_path / "backups")
    (made.path / MANIFEST).write_text('{"format": "loalang-backup/1", "files": ')
    with pytest.raises(BackupError, match="damaged or not a backup manifest"):
        restore(made.path, tmp_path / "new")
    with pytest.raises(BackupError, match="not a Loa Làng backup"):
        restore(tmp_path, tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_restore_into_a_directory_that_is_not_empty_is_refused(
    data: Commune, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    made = make_backup(data.config, tmp_path / "backups")
    target = tmp_path / "used"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    assert loa(["restore", str(made.path), "--data", str(target)]) == 2
    assert "is not empty: restore only into a new or empty directory" in capsys.readouterr().err
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert (target / "notes.txt").read_text() == "keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert loa(["restore", str(made.path), "--data", str(empty)]) == 0
    assert (empty / "loalang.sqlite3").exists()


def test_an_older_schema_is_migrated_to_the_current_one(tmp_path: Path):
    data_dir = tmp_path / "old"
    config = bootstrap.setup(data_dir)
    (data_dir / "loalang.sqlite3").unlink()
    old = Database(config.db_url)
    migrate(old.engine, PREVIOUS_HEAD)
    old.engine.dispose()
    made = make_backup(config, tmp_path / "backups")
    assert made.manifest.schema_revision == PREVIOUS_HEAD
    done = restore(made.path, tmp_path / "new")
    assert done.schema_revision == HEAD
    assert database.sqlite_revision(tmp_path / "new" / "loalang.sqlite3") == HEAD


def test_a_backup_from_a_newer_version_is_refused(data: Commune, tmp_path: Path):
    made = make_backup(data.config, tmp_path / "backups")
    manifest = json.loads((made.path / MANIFEST).read_text())
    manifest["schema_revision"] = "ffffffffffff"
    (made.path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="made by a newer version"):
        restore(made.path, tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_a_config_this_version_cannot_read_is_refused_before_writing(data: Commune, tmp_path: Path):
    made = make_backup(data.config, tmp_path / "backups")
    path = made.path / "controller.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "warp_drive": True}))
    manifest = json.loads((made.path / MANIFEST).read_text())
    manifest["files"]["controller.json"] = {
        "sha256": hash_file(path).sha256,
        "size": hash_file(path).size,
    }
    (made.path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="warp_drive"):
        restore(made.path, tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_a_failure_while_restoring_leaves_nothing_behind(data: Commune, tmp_path: Path):
    """A database that passes its checksum but is no database (written so by a broken disk
    before the backup was made) fails at migration; what was written is removed."""
    made = make_backup(data.config, tmp_path / "backups")
    db_file = made.path / database.SQLITE_FILE
    db_file.write_bytes(b"not a database" * 100)
    manifest = json.loads((made.path / MANIFEST).read_text())
    entry = hash_file(db_file)
    manifest["files"][database.SQLITE_FILE] = {"sha256": entry.sha256, "size": entry.size}
    (made.path / MANIFEST).write_text(json.dumps(manifest))
    target = tmp_path / "empty"
    target.mkdir()
    with pytest.raises(BackupError, match=r"restore failed, nothing kept: .*not a database"):
        restore(made.path, target)
    assert target.is_dir()
    assert list(target.iterdir()) == []


def test_a_sound_half_written_or_missing_is_never_half_in_the_backup(data: Commune, tmp_path: Path):
    store = data.config.audio_dir
    whole = b"OggS" + bytes(range(256)) * 40
    digest = hashlib.sha256(whole).hexdigest()
    (store / f"{digest}.ogg").write_bytes(whole[: len(whole) // 2])  # caught mid-write
    (store / "notes.txt").write_text("?")
    lost = next(store.glob("*.ogg"))
    with data.db.session() as s:
        in_use = {b.audio_sha256 for b in s.scalars(select(Bulletin))}
    lost = store / f"{sorted(in_use)[0]}.ogg"
    lost.unlink()
    made = make_backup(data.config, tmp_path / "backups")
    skipped = made.manifest.skipped
    assert f"audio/{digest}.ogg" not in made.manifest.files
    assert not (made.path / "audio" / f"{digest}.ogg").exists()
    assert "does not match its name" in skipped[f"audio/{digest}.ogg"]
    assert "not a stored sound" in skipped["audio/notes.txt"]
    assert skipped[f"audio/{lost.name}"] == "in the database but missing from the audio store"
    assert f"audio/{sorted(in_use)[1]}.ogg" in made.manifest.files


def test_a_failed_backup_leaves_no_partial_directory(data: Commune, tmp_path: Path):
    data.config.key_file.unlink()
    with pytest.raises(BackupError, match=r"controller_ed25519\.pem is missing"):
        make_backup(data.config, tmp_path / "backups")
    assert list((tmp_path / "backups").iterdir()) == []
    (tmp_path / "file").write_text("")
    with pytest.raises(BackupError, match="is not a directory"):
        make_backup(data.config, tmp_path / "file")


def test_a_sound_stored_after_the_store_was_listed_is_still_in_the_backup(
    data: Commune, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The database copy names a sound the listing missed (stored in between): it is copied."""
    with data.db.session() as s:
        late = sorted(b.audio_sha256 for b in s.scalars(select(Bulletin)))[0]
    listed = make.listing(data.config.audio_dir)
    monkeypatch.setattr(make, "listing", lambda _store: [p for p in listed if late not in p.name])
    made = make_backup(data.config, tmp_path / "backups")
    assert f"audio/{late}.ogg" in made.manifest.files
    assert made.manifest.skipped == {}


def test_a_full_backup_disk_is_a_clear_error_and_leaves_nothing(
    data: Commune, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    real = copy_hashed

    def full_on_audio(src: Path, dst: Path) -> object:
        if dst.parent.name == "audio":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(make, "copy_hashed", full_on_audio)
    dest = tmp_path / "backups"
    with pytest.raises(BackupError, match=r"failed, nothing kept: .*No space left"):
        make_backup(data.config, dest)
    assert list(dest.iterdir()) == []


def test_given_tls_files_outside_the_data_directory_come_back_inside_it(
    data: Commune, tmp_path: Path
):
    given = broker_tls.make_ca(tmp_path / "given", ["broker.example.vn"])
    config = data.config.model_copy(
        update={
            "mqtt_tls_port": 8883,
            "mqtt_tls_hosts": ["broker.example.vn"],
            "mqtt_tls_files": (given.ca_file, given.cert_file, given.key_file),
        }
    )
    config.save(bootstrap.config_path(config.data_dir))
    made = make_backup(config, tmp_path / "backups")
    assert {"broker/tls/ca.crt", "broker/tls/server.crt", "broker/tls/server.key"} <= set(
        made.manifest.files
    )
    restore(made.path, tmp_path / "new")
    new = bootstrap.load_config(tmp_path / "new")
    assert new.mqtt_tls_files is None
    listener = broker_tls.listener(new)
    assert listener is not None
    assert listener.port == 8883
    assert listener.files.ca_file == new.broker_tls_dir / "ca.crt"
    for ours, theirs in zip(
        (listener.files.ca_file, listener.files.cert_file, listener.files.key_file),
        (given.ca_file, given.cert_file, given.key_file),
        strict=True,
    ):
        assert ours.read_bytes() == theirs.read_bytes()


@pytest.mark.parametrize("made_by", ["loa tls init", "loa init --https-host"])
def test_the_web_certificate_the_labels_pin_comes_back_in_the_new_directory(
    data: Commune, tmp_path: Path, made_by: str
):
    from controller.nodes import tls_init, web_tls

    if made_by == "loa tls init":
        tls_init.init(data.config.data_dir, ["loa.example.vn"], replace=True)
    else:
        config = web_tls.ensure_certificate(data.config, ["loa.example.vn"])
        config.save(bootstrap.config_path(config.data_dir))
    old = bootstrap.load_config(data.config.data_dir)
    assert old.http_tls_files is not None
    made = make_backup(old, tmp_path / "backups")
    restore(made.path, tmp_path / "new")
    new = bootstrap.load_config(tmp_path / "new")
    assert new.http_tls_files is not None
    for mine, theirs in zip(new.http_tls_files, old.http_tls_files, strict=True):
        assert mine.is_relative_to((tmp_path / "new").resolve())
        assert mine.read_bytes() == theirs.read_bytes()
