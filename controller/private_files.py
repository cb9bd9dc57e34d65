"""Files only the service account may read: the controller's data directory and all it holds.

The data directory keeps password hashes (the database), the signing key, the broker's password
and ACL files, node credentials, logs and audio. It is 0700 and what it holds 0600. The umask set
when a `loa` command starts covers whatever libraries write there (SQLite's journals, the audio
encoders, Mosquitto's log and database); the places that create secrets set the mode themselves
as well, so a library call from a test or another program cannot leave one readable.
Mosquitto reads the password and ACL files as the same service account (the ``user`` line of
``controller/nodes/mosquitto/mosquitto.conf.template``), so it needs no group or other access
either.
"""

from __future__ import annotations

import itertools
import os
import stat
from pathlib import Path

UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def restrict_process() -> None:
    """From here on, this process and its children create files for their owner only."""
    os.umask(UMASK)


def private_dir(path: Path) -> Path:
    """``path`` (made if missing, with its missing parents) readable by its owner only."""
    _make_private(path)
    path.chmod(DIR_MODE)
    return path


def _make_private(path: Path) -> None:
    """Make ``path`` and its missing parents 0700 whatever the umask (``mkdir(parents=True)``
    gives the parents the umask's mode, not the one asked for)."""
    missing = list(itertools.takewhile(lambda p: not p.exists(), [path, *path.parents]))
    for made in reversed(missing):
        made.mkdir(mode=DIR_MODE, exist_ok=True)
        made.chmod(DIR_MODE)


def private_file(path: Path) -> Path:
    """``path`` created empty if missing, readable by its owner only; its content untouched.
    SQLite gives its -wal and -shm files the database file's mode, so creating the database
    file this way keeps all three private."""
    _make_private(path.parent)
    # Never open an existing file: closing any descriptor of a SQLite database drops every
    # POSIX lock this process holds on it, so a second engine made while the first is in a
    # transaction would let another writer in (SQLite's "how to corrupt", 2.2).
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    path.chmod(FILE_MODE)
    return path


def write_private(path: Path, data: str | bytes) -> None:
    """Replace ``path`` atomically with ``data``, readable by its owner only from the start.
    A missing folder is made private; an existing one is the caller's (``private_dir``)."""
    _make_private(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # an old .tmp left by a crash keeps its mode otherwise
    with os.fdopen(fd, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
    tmp.replace(path)


def open_private_log(path: Path) -> int:
    """A file descriptor appending to ``path``, which is readable by its owner only."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


def exposed(root: Path) -> list[Path]:
    """``root`` and every path under it that its group or others may use. Symbolic links are
    skipped (what they point to is not the data directory's), and so are files that a running
    controller removes meanwhile."""
    found: list[Path] = []
    for path in [root, *root.rglob("*")]:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
            found.append(path)
    return found


def tighten(root: Path) -> list[Path]:
    """Take group and other access away from ``root`` and all under it (what an older version
    or a hand-made copy left readable); returns what it changed. RuntimeError naming the file
    when one is not ours to change (another account owns it)."""
    changed = exposed(root)
    for path in changed:
        try:
            path.chmod(stat.S_IMODE(path.lstat().st_mode) & ~0o077)
        except FileNotFoundError:
            continue
        except PermissionError as exc:
            raise RuntimeError(
                f"cannot make {path} private ({exc.strerror}): give it to the account that "
                "runs loa (chown), then run `loa init` again"
            ) from None
    return changed
