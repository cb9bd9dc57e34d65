"""The manifest of a backup: what it holds and the sha256 of every file, checked before any
restore writes a byte."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from controller.private_files import FILE_MODE, private_dir

FORMAT = "loalang-backup/1"
MANIFEST = "manifest.json"
_BLOCK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BackupError(RuntimeError):
    """A backup could not be made, or one given cannot be restored; nothing was changed."""


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int


@dataclass
class Manifest:
    loalang_version: str
    created_at: str  # ISO 8601 in Asia/Ho_Chi_Minh
    source: str
    database: str  # "sqlite" or "postgresql"
    schema_revision: str
    files: dict[str, FileEntry] = field(default_factory=dict)
    # what was left out and why (a file written or removed during the copy, a name that is
    # not the store's): said here and printed, never dropped silently
    skipped: dict[str, str] = field(default_factory=dict)
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data: Any = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} manifest")
        files = {
            str(path): FileEntry(str(entry["sha256"]), int(entry["size"]))
            for path, entry in dict(data["files"]).items()
        }
        return cls(
            loalang_version=str(data["loalang_version"]),
            created_at=str(data["created_at"]),
            source=str(data["source"]),
            database=str(data["database"]),
            schema_revision=str(data["schema_revision"]),
            files=files,
            skipped={str(k): str(v) for k, v in dict(data.get("skipped", {})).items()},
        )


def copy_hashed(src: Path, dst: Path) -> FileEntry:
    """Copy ``src`` to ``dst`` (created 0600, its folders 0700) and return the sha256 and size
    of the bytes written, which is what the manifest must vouch for."""
    private_dir(dst.parent)
    digest = hashlib.sha256()
    size = 0
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with src.open("rb") as fin, os.fdopen(fd, "wb") as fout:
        while block := fin.read(_BLOCK):
            digest.update(block)
            fout.write(block)
            size += len(block)
        fout.flush()
        os.fsync(fout.fileno())
    return FileEntry(digest.hexdigest(), size)


def hash_file(path: Path) -> FileEntry:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
            size += len(block)
    return FileEntry(digest.hexdigest(), size)


def is_sha256(text: str) -> bool:
    return bool(_SHA256.match(text))


def read(backup: Path) -> Manifest:
    path = backup / MANIFEST
    if not backup.is_dir():
        raise BackupError(f"{backup} is not a backup directory")
    try:
        return Manifest.from_json(path.read_text())
    except FileNotFoundError:
        raise BackupError(f"{backup} is not a Loa Làng backup (no {MANIFEST})") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{path} is damaged or not a backup manifest: {exc}") from None


def verify(backup: Path) -> Manifest:
    """The manifest of ``backup`` once every file it names is there with its size and sha256,
    and nothing else is; BackupError listing every difference otherwise."""
    manifest = read(backup)
    problems: list[str] = []
    for name, entry in sorted(manifest.files.items()):
        if not _safe(name) or not is_sha256(entry.sha256):
            problems.append(f"{name}: not a valid manifest entry")
            continue
        path = backup / name
        try:
            found = hash_file(path)
        except OSError as exc:
            problems.append(f"{name}: {exc.strerror or exc}")
            continue
        if found != entry:
            problems.append(f"{name}: checksum or size differs from the manifest (damaged)")
    listed = set(manifest.files) | {MANIFEST}
    for path in sorted(backup.rglob("*")):
        name = path.relative_to(backup).as_posix()
        if path.is_file() and name not in listed:
            problems.append(f"{name}: not in the manifest")
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise BackupError(f"backup {backup} is corrupt, nothing restored:\n  {shown}{more}")
    return manifest


def _safe(name: str) -> bool:
    """A relative path inside the backup: no absolute path, no ``..``."""
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts
