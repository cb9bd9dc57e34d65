from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from schedules import (
    EXAMPLES_DIR,
    check_item,
    dump_programme,
    expand,
    load_programme,
    parse_programme,
    save_programme,
)
from tests.support.programme import ZONES

EXAMPLES = sorted(EXAMPLES_DIR.glob("*.json"))


def test_there_are_examples() -> None:
    assert EXAMPLES_DIR / "xa-mau.json" in EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_loads_and_is_conflict_free(path: Path) -> None:
    p = load_programme(path)
    for it in p.items:
        assert check_item(p, it, ZONES, from_date=dt.date(2026, 11, 1), horizon_days=120) == []


def test_xa_mau_content() -> None:
    p = load_programme(EXAMPLES_DIR / "xa-mau.json")
    assert p.quiet_hours is not None
    assert p.quiet_hours.start == dt.time(21, 30)
    names = {s.name: s for s in p.slots}
    assert names["Bản tin sáng"].start == dt.time(6)
    assert names["Bản tin sáng"].max_length_s == 1800
    assert names["Bản tin chiều"].start == dt.time(17)
    assert {r.recurrence.kind for r in p.items} >= {"once", "monthly", "weekly", "daily"}
    tz = p.tz
    occ = expand(
        p, dt.datetime(2026, 11, 29, tzinfo=tz), dt.datetime(2026, 11, 30, tzinfo=tz), ZONES
    )
    assert "ky-thuat-lua.20261129" in {o.play_id for o in occ}  # Sunday programme


def test_round_trip(tmp_path: Path) -> None:
    p = load_programme(EXAMPLES_DIR / "xa-mau.json")
    out = tmp_path / "p.json"
    save_programme(p, out)
    assert load_programme(out) == p
    assert "Bản tin sáng" in out.read_text(encoding="utf-8")
    assert dump_programme(load_programme(out)) == dump_programme(p)


def test_bad_json_says_where() -> None:
    with pytest.raises(ValueError, match=r"x\.json: invalid JSON at line 2 column"):
        parse_programme('{"slots": [\n,]}', "x.json")


def test_invalid_programme_says_what() -> None:
    with pytest.raises(ValueError, match=r"invalid programme: slots\.0\.max_length_s"):
        parse_programme(
            '{"slots": [{"id": "s", "name": "S", "start": "06:00", "max_length_s": -1}]}'
        )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read programme file"):
        load_programme(tmp_path / "none.json")
