"""Content-addressed audio cache: ``<root>/<aa>/<sha256>``, complete files only.

Downloads grow in ``<root>/partial/<sha256>.part`` (resumable after a restart: chunks are
written in order, so the file's size is the next offset) and are renamed into place only after
the whole file's sha256 matches. The player never sees a partial file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


class CacheError(Exception):
    """A download cannot continue; the message is the reason reported to the controller."""


class AudioCache:
    def __init__(self, root: Path, min_free_bytes: int = 0) -> None:
        self.root = root
        self._root_text = os.fspath(root)
        self.partial_dir = root / "partial"
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        self.min_free_bytes = min_free_bytes

    def path(self, sha256: str) -> Path:
        return Path(self._file(sha256))

    def _file(self, sha256: str) -> str:
        # os.path on text, not pathlib: ``has`` asks for every command, where Path's joins
        # cost a sizeable share of the check's own Python time
        return os.path.join(self._root_text, sha256[:2], sha256)

    def has(self, sha256: str) -> bool:
        """A complete file whose bytes still match ``sha256``: one that rotted at rest (an SD
        card, a power cut) is removed, so it is fetched again instead of played as noise."""
        path = self._file(sha256)
        if not os.path.isfile(path):
            return False
        if _digest(path) == sha256:
            return True
        log.warning("cached audio %s… no longer matches its sha256; fetching it again", sha256[:12])
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return False

    def partial_size(self, sha256: str) -> int:
        part = self._part(sha256)
        return part.stat().st_size if part.exists() else 0

    def check_space(self, size: int) -> None:
        free = shutil.disk_usage(self.root).free
        if free - size < self.min_free_bytes:
            raise CacheError(
                f"disk full: {size} bytes needed, {free} free, "
                f"{self.min_free_bytes} kept in reserve"
            )

    def append(self, sha256: str, offset: int, data: bytes) -> int:
        """Write a verified chunk at ``offset``; returns the new partial size."""
        part = self._part(sha256)
        size = self.partial_size(sha256)
        if offset != size:
            return size  # out of order or a duplicate: the fetcher asks again from ``size``
        try:
            with part.open("ab") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            # A chunk half-written (the disk filled mid-write) is cut off, so the part-file
            # stays whole chunks and a later download resumes from a chunk boundary.
            with contextlib.suppress(OSError):
                os.truncate(part, size)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise CacheError("disk full: no space left to write the audio cache") from exc
            raise CacheError(f"cannot write audio cache: {exc.strerror or exc}") from exc
        return size + len(data)

    def finish(self, sha256: str) -> Path:
        """Verify the whole file and move it into place atomically."""
        part = self._part(sha256)
        if _digest(part) != sha256:
            part.unlink()
            raise CacheError(f"downloaded file does not match sha256 {sha256[:12]}…; discarded")
        final = self.path(sha256)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, final)
        except OSError as exc:  # a CacheError is reported; anything else left its plays waiting
            raise CacheError(
                f"cannot move the audio into the cache: {exc.strerror or exc}"
            ) from exc
        return final

    def discard_partial(self, sha256: str) -> None:
        self._part(sha256).unlink(missing_ok=True)

    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.glob("??/*") if p.is_file())

    def _part(self, sha256: str) -> Path:
        return self.partial_dir / f"{sha256}.part"


def _digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
