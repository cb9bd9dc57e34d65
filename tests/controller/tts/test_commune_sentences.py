"""Every line of data/commune_sentences.tsv read exactly as a broadcaster reads it.

One test runs the whole table and lists every failing line at once, so a change to one rule
shows everything it moved, not just the first casualty.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import NamedTuple

import pytest

from controller.tts.normalize import Normalizer

TABLE = Path(__file__).parent / "data" / "commune_sentences.tsv"
TOPICS = {
    "điện", "nước", "tiêm chủng", "thuế", "họp", "lũ lụt", "bão",
    "đất đai", "bầu cử", "tài sản", "đường",
}  # fmt: skip


class Line(NamedTuple):
    number: int
    topic: str
    written: str
    spoken: str


def load(path: Path) -> list[Line]:
    """The table's lines; a malformed line is an error naming it, never skipped."""
    lines: list[Line] = []
    for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        parts = raw.split("\t")
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise ValueError(f"{path.name}:{number}: expected topic<TAB>written<TAB>spoken")
        lines.append(Line(number, *parts))
    return lines


@pytest.fixture(scope="module")
def table() -> list[Line]:
    return load(TABLE)


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return Normalizer()


def test_the_table_is_wide(table: list[Line]) -> None:
    assert len(table) >= 100
    assert {line.topic for line in table} >= TOPICS
    written = [line.written for line in table]
    assert len(set(written)) == len(written), "a sentence is in the table twice"


def test_every_sentence_is_read_right(table: list[Line], norm: Normalizer) -> None:
    failures = [
        f"line {line.number} [{line.topic}] {line.written}\n"
        f"    expected: {line.spoken}\n    got:      {got}"
        for line in table
        if (got := norm(line.written)) != line.spoken
    ]
    assert not failures, f"{len(failures)} of {len(table)} sentences read wrongly:\n" + "\n".join(
        failures
    )


def test_nothing_unspeakable_is_left(table: list[Line], norm: Normalizer) -> None:
    """No digit, emoji, ornament or slash reaches the engine, and reading twice changes nothing."""
    for line in table:
        spoken = norm(line.written)
        odd = [
            ch
            for ch in spoken
            if ch.isdigit() or ch in "/•★►→…|" or unicodedata.category(ch) in ("So", "Sk", "Cf")
        ]
        assert not odd, f"line {line.number}: {odd} left in {spoken!r}"
        assert norm(spoken) == spoken, f"line {line.number}: not stable"


def test_a_malformed_table_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "t.tsv"
    bad.write_text("# ok\nđiện\tCắt điện 7h.\n", "utf-8")
    with pytest.raises(ValueError, match=r"t\.tsv:2: expected topic<TAB>written<TAB>spoken"):
        load(bad)
