"""Which backups to keep: the newest N (nightly) and the first of each of the newest M months
(monthly). Chosen from the backups' names, so the clock is the caller's."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from controller.backup.make import PREFIX, STAMP
from controller.backup.manifest import MANIFEST

_NAME = re.compile(rf"^{PREFIX}(\d{{8}}-\d{{6}})(?:-(\d+))?$")
_PARTIAL = re.compile(rf"^\.{PREFIX}(\d{{8}}-\d{{6}})(?:-\d+)?\.partial$")
# a partial backup this old was left by a crash, not by a backup still being written
PARTIAL_AGE = timedelta(days=1)

Key = tuple[datetime, int]


@dataclass(frozen=True)
class Pruned:
    kept: list[Path]
    removed: list[Path]


def choose(keys: Iterable[Key], nightly: int, monthly: int) -> set[Key]:
    """The ``nightly`` newest, and the first of each of the ``monthly`` newest months."""
    ordered = sorted(keys)
    keep = set(ordered[-nightly:] if nightly > 0 else [])
    firsts: dict[tuple[int, int], Key] = {}
    for key in ordered:
        firsts.setdefault((key[0].year, key[0].month), key)
    months = sorted(firsts)[-monthly:] if monthly > 0 else []
    keep.update(firsts[month] for month in months)
    return keep


def backups(dest: Path) -> dict[Key, Path]:
    """The complete backups in ``dest`` (named by `loa backup`, with a manifest)."""
    found: dict[Key, Path] = {}
    for path in dest.iterdir() if dest.is_dir() else []:
        match = _NAME.match(path.name)
        if match and path.is_dir() and (path / MANIFEST).is_file():
            found[(datetime.strptime(match[1], STAMP), int(match[2] or 1))] = path
    return found


def prune(dest: Path, nightly: int, monthly: int, *, now: datetime) -> Pruned:
    """Remove the backups in ``dest`` that ``choose`` does not keep, and partial ones left by
    a crash more than a day before ``now`` (local time). Nothing else in ``dest`` is touched."""
    found = backups(dest)
    keep = choose(found, nightly, monthly)
    removed = [found[key] for key in sorted(found) if key not in keep]
    cutoff = now.replace(tzinfo=None) - PARTIAL_AGE
    for path in sorted(dest.iterdir()) if dest.is_dir() else []:
        match = _PARTIAL.match(path.name)
        if match and datetime.strptime(match[1], STAMP) < cutoff:
            removed.append(path)
    for path in removed:
        shutil.rmtree(path)
    return Pruned([found[key] for key in sorted(keep)], removed)
