"""The controller's data directory is its owner's alone: 0700, and 0600 for the database, the
config, the signing key, the broker's password, ACL and config files, and whatever else is in it,
after set-up in this process (whatever its umask) and after `loa init` as a real command."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.nodes import bootstrap, broker
from controller.private_files import exposed, private_file


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The usual 022, whatever the test runner had: set-up must not rely on the umask."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def names(paths: list[Path], root: Path) -> list[str]:
    return [f"{oct(mode(p))} {p.relative_to(root.parent)}" for p in paths]


def secrets_of(data: Path) -> list[Path]:
    config = bootstrap.load_config(data)
    files = broker.BrokerFiles(config.broker_dir)
    database = data / "loalang.sqlite3"
    return [
        bootstrap.config_path(data),
        config.key_file,
        database,  # SQLite gives its -wal and -shm files the database's mode
        files.password_file,
        files.acl_file,
    ]


def test_setup_leaves_nothing_readable_by_others(tmp_path, lax_umask):
    data = tmp_path / "ctl"
    config = bootstrap.setup(data, commune_name="Xã Thử")
    broker.write_config(broker.BrokerFiles(config.broker_dir), broker.free_port())
    assert mode(data) == 0o700
    for path in secrets_of(data):
        assert path.exists(), path
        assert mode(path) == 0o600, path
    assert mode(broker.BrokerFiles(config.broker_dir).config_file) == 0o600
    assert not names(exposed(data), data)


def test_setup_again_tightens_what_an_older_version_left_readable(tmp_path, lax_umask):
    data = tmp_path / "ctl"
    bootstrap.setup(data, commune_name="Xã Thử")
    data.chmod(0o755)
    for path in secrets_of(data):
        path.chmod(0o644)
    old_audio = data / "audio" / "cu.ogg"
    old_audio.parent.mkdir(mode=0o755)
    old_audio.write_bytes(b"OggS")
    old_audio.chmod(0o644)

    bootstrap.setup(data)
    assert not names(exposed(data), data)


def test_loa_init_as_a_command_leaves_nothing_readable_by_others(tmp_path, lax_umask):
    data = tmp_path / "ctl"
    done = subprocess.run(
        [sys.executable, "-m", "controller.cli", "init", "--data", str(data), "--commune", "Xã"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert mode(data) == 0o700
    assert not names(exposed(data), data)


def test_an_existing_database_file_is_made_private_without_being_opened(tmp_path, monkeypatch):
    # Closing any descriptor of a SQLite file drops the locks the process's connections hold
    # on it, so a second engine made inside a running controller must not open the file.
    db = tmp_path / "loalang.sqlite3"
    db.write_bytes(b"")
    db.chmod(0o644)

    def no_open(*_args: object, **_kw: object) -> int:
        raise AssertionError("the database file was opened")

    monkeypatch.setattr(os, "open", no_open)
    private_file(db)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
