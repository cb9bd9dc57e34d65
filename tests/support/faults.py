"""Helpers for the fault tests (tests/e2e/test_faults*.py): post a bulletin to every point,
watch a download, and check the bar every fault must clear: each point played it exactly once."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from schedules import LOCAL
from tests.support import SystemUnderTest, node_events, wait_for


def post_to_all(sut: SystemUnderTest, audio: Path, lead_s: float, **form: str) -> str:
    """A bulletin for every point, due ``lead_s`` seconds from now; its id."""
    play_at = datetime.now(LOCAL) + timedelta(seconds=lead_s)
    resp = sut.post_bulletin(
        audio, all="true", play_at=play_at.replace(tzinfo=None).isoformat(), **form
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # finished and renamed into the cache meanwhile
        return 0


def partial_dir(sut: SystemUnderTest, node_id: str) -> Path:
    return Path(sut.node_config(node_id)["data_dir"]) / "cache" / "partial"


def downloading(sut: SystemUnderTest, node_id: str, timeout: float = 30) -> Path:
    """The node's part-file once it holds bytes: the moment a download is under way."""
    partial = partial_dir(sut, node_id)
    found: Path = wait_for(
        lambda: next((p for p in partial.glob("*.part") if size_of(p) > 0), None),
        timeout,
        "the download to begin",
        interval=0.005,
    )
    return found


def played_once_by_all(sut: SystemUnderTest, bid: str, timeout: float = 90) -> None:
    """0 lost and 0 doubled: the report says every point completed, and each started once."""
    count = len(sut.node_ids)
    wait_for(
        lambda: sut.report(bid)["summary"]["completed"] == count,
        timeout,
        f"all {count} nodes to play",
    )
    for node_id in sut.node_ids:
        assert len(node_events(sut, node_id, "started")) == 1, node_id


@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (mount's units: "1m") mounted on ``path`` for the test's length: a
    disk that really fills. Skips, saying why, where the test may not mount (not root, or a
    container without CAP_SYS_ADMIN)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for a full disk: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path) -> Path:
    """Write a filler file until ``disk`` has no byte left; returns it (delete it to free)."""
    filler = disk / "filler"
    block = b"\0" * 4096
    with filler.open("wb", buffering=0) as fh:
        try:
            while True:
                fh.write(block)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler


FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


class FakeClock:
    """One process's wall clock under the test's hand (Debian's libfaketime, preloaded): the
    offset in ``path`` is read at every call, so writing it jumps the clock as settimeofday
    would, while the monotonic clock runs true."""

    def __init__(self, path: Path) -> None:
        if not FAKETIME_LIB.exists():
            pytest.skip(f"libfaketime is not installed ({FAKETIME_LIB}): apt install libfaketime")
        self.path = path
        self.set(0)

    @property
    def env(self) -> dict[str, str]:
        return {
            "LD_PRELOAD": str(FAKETIME_LIB),
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }

    def set(self, offset_s: int) -> None:
        """Jump to the true time plus ``offset_s`` (written whole, so no reader sees half)."""
        part = self.path.with_suffix(".part")
        part.write_text(f"{offset_s:+d}\n")
        part.replace(self.path)
