"""The speech cache: one processed Ogg/Opus file per (normalised text, voice, engine, pipeline).

``<cache_dir>/<key>.ogg`` plus ``<key>.json`` describing it. Both are written to a temporary
name in the same directory and renamed into place, so a reader sees a whole file or none; the
audio is renamed last, so an ``.ogg`` present means its entry is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def cache_key(text: str, voice: str, engine: str, pipeline: str) -> str:
    """sha256 over the four parts as a JSON list (unambiguous: no separator can collide)."""
    blob = json.dumps([text, voice, engine, pipeline], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    audio: Path
    meta: dict[str, Any]


class SpeechCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.ogg", self.directory / f"{key}.json"

    def get(self, key: str) -> CacheEntry | None:
        audio, sidecar = self._paths(key)
        if not audio.is_file():
            return None
        try:
            meta: dict[str, Any] = json.loads(sidecar.read_text("utf-8"))
        except (OSError, ValueError):
            meta = {}  # the audio is still good; the description is a convenience
        return CacheEntry(audio, meta)

    def put(self, key: str, audio_src: Path, meta: dict[str, Any]) -> CacheEntry:
        """Copy ``audio_src`` into the cache under ``key`` (atomically) and return the entry."""
        self.directory.mkdir(parents=True, exist_ok=True)
        audio, sidecar = self._paths(key)
        _atomic_write(sidecar, json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8"))
        _atomic_write(audio, audio_src.read_bytes())
        return CacheEntry(audio, meta)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fp:
            fp.write(data)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
