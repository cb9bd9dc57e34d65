"""The CAP out benchmark still runs: a real controller answers its three requests (no timing is
asserted; the figures are ``bench.cap_feed``'s, in BENCHMARKS.md)."""

from __future__ import annotations

from pathlib import Path

from bench.cap_feed import run


def test_the_benchmark_polls_a_real_controller(tmp_path: Path) -> None:
    rows = run(tmp_path / "sys", alerts=3, requests=2)
    sizes = [int(r.split("|")[2]) for r in rows]
    assert len(rows) == 3
    assert sizes[0] > 0  # the feed
    assert sizes[1] == 0  # the same feed, asked with its ETag: 304, no body
    assert sizes[2] > 0  # a document
