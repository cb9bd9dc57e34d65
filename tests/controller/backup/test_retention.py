"""Retention: the newest N backups and the first of each of the newest M months are kept;
crash leftovers go, anything else in the folder stays. Dates come from a clock seam."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from controller.backup import retention
from controller.backup.make import Clock, make_backup
from schedules import LOCAL
from tests.controller.commune import Commune


def at(when: datetime) -> Clock:
    return lambda: when


def day(month: int, d: int) -> datetime:
    return datetime(2026, month, d, 2, 30, tzinfo=LOCAL)


def test_choose_keeps_the_newest_and_the_first_of_each_recent_month():
    keys = [(day(10, 25).replace(tzinfo=None) + timedelta(days=n), 1) for n in range(43)]
    kept = {key[0].date().isoformat() for key in retention.choose(keys, 3, 2)}
    assert kept == {"2026-12-04", "2026-12-05", "2026-12-06", "2026-11-01", "2026-12-01"}
    assert retention.choose(keys, 1, 0) == {keys[-1]}
    everything = {key[0].date().isoformat() for key in retention.choose(keys, 3, 12)}
    assert "2026-10-25" in everything  # October's first is the oldest backup there is


def test_prune_removes_the_others_and_crash_leftovers_only(data: Commune, tmp_path: Path):
    dest = tmp_path / "backups"
    dates = [day(10, 30), day(10, 31), day(11, 1), day(11, 2), day(11, 30), day(12, 1)]
    dates += [day(12, d) for d in (2, 3, 4)]
    made = [make_backup(data.config, dest, clock=at(when)).path for when in dates]
    old_partial = dest / ".loalang-20261201-023000.partial"
    new_partial = dest / ".loalang-20261204-023000-2.partial"  # a backup still being written
    for partial in (old_partial, new_partial):
        partial.mkdir()
    (dest / "README.txt").write_text("offsite copy of the commune's backups")
    (dest / "loalang-manual").mkdir()  # not a name `loa backup` gives: never touched
    pruned = retention.prune(dest, 2, 2, now=day(12, 4) + timedelta(hours=1))
    kept = sorted(p.name for p in pruned.kept)
    assert kept == [
        "loalang-20261101-023000",
        "loalang-20261201-023000",
        "loalang-20261203-023000",
        "loalang-20261204-023000",
    ]
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        [*kept, new_partial.name, "README.txt", "loalang-manual"]
    )
    assert old_partial in pruned.removed
    assert {p.name for p in pruned.removed} == {p.name for p in made if p.name not in kept} | {
        old_partial.name
    }


def test_an_incomplete_backup_is_not_counted_nor_removed(data: Commune, tmp_path: Path):
    dest = tmp_path / "backups"
    for d in (1, 2, 3):
        make_backup(data.config, dest, clock=at(day(12, d)))
    (dest / "loalang-20261203-023000" / "manifest.json").unlink()  # a hand-damaged copy
    pruned = retention.prune(dest, 1, 0, now=day(12, 3))
    assert [p.name for p in pruned.kept] == ["loalang-20261202-023000"]
    assert [p.name for p in pruned.removed] == ["loalang-20261201-023000"]
    assert (dest / "loalang-20261203-023000").is_dir()
