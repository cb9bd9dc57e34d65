from __future__ import annotations

import datetime as dt
import re

import pytest

from schedules import LOCAL, Recurrence, expand
from tests.schedules.conftest import ZONES, item, once, programme, slot

TZ = LOCAL


def local(y: int, m: int, d: int, h: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=TZ)


def test_slot_order_priority_first_then_position_then_gap() -> None:
    p = programme(
        item("n2", slot_id="sang", position=2, duration_s=60),
        item("f1", slot_id="sang", position=0, priority="filler", duration_s=30),
        item("n1", slot_id="sang", position=1, duration_s=50),
        item("p9", slot_id="sang", position=9, priority="priority", duration_s=10),
    )
    occ = expand(p, local(2026, 3, 2), local(2026, 3, 3), ZONES)
    assert [o.item_id for o in occ] == ["p9", "n1", "n2", "f1"]
    starts = [o.start.astimezone(TZ).time() for o in occ]
    # 06:00, then +10+2, +50+2, +60+2
    assert starts == [dt.time(6), dt.time(6, 0, 12), dt.time(6, 1, 4), dt.time(6, 2, 6)]
    assert all(o.start.tzinfo == dt.UTC for o in occ)
    assert occ[0].start == dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC)


def test_zone_to_node_resolution_and_slot_default() -> None:
    p = programme(
        item("a", slot_id="sang"),  # slot zones: thon-dong + thon-tay
        item("b", slot_id="sang", position=1, zones=["thon-bac"], nodes=["n9"]),
        item("c", nodes=["n7"], recurrence=once(dt.date(2026, 3, 2), dt.time(9))),
    )
    occ = {o.item_id: o for o in expand(p, local(2026, 3, 2), local(2026, 3, 3), ZONES)}
    assert occ["a"].node_ids == ("n1", "n2", "n3")
    assert occ["b"].node_ids == ("n2", "n4", "n9")
    assert occ["c"].node_ids == ("n7",)
    assert occ["c"].slot_id is None
    assert occ["a"].slot_id == "sang"


def test_unknown_zone_is_an_error() -> None:
    p = programme(item("a", slot_id="sang", zones=["khong-co"]))
    with pytest.raises(ValueError, match="unknown zone 'khong-co'"):
        expand(p, local(2026, 3, 2), local(2026, 3, 3), ZONES)


def test_naive_window_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        expand(programme(), dt.datetime(2026, 3, 2), local(2026, 3, 3), ZONES)


def test_window_is_half_open() -> None:
    p = programme(item("a", slot_id="sang"))
    six = local(2026, 3, 2, 6)
    assert [o.play_id for o in expand(p, six, six + dt.timedelta(days=1), ZONES)] == ["a.20260302"]
    assert expand(p, six - dt.timedelta(hours=1), six, ZONES) == []
    # Window given in UTC gives the same airings.
    utc = six.astimezone(dt.UTC)
    assert len(expand(p, utc, utc + dt.timedelta(seconds=1), ZONES)) == 1


def test_slot_spilling_past_midnight_is_found_from_next_day_window() -> None:
    late = slot(id="dem", start=dt.time(23, 59, 50), max_length_s=3600)
    p = programme(
        item("a", slot_id="dem", duration_s=30),
        item("b", slot_id="dem", position=1, duration_s=60),
        slots=[late],
    )
    occ = expand(p, local(2026, 3, 3), local(2026, 3, 3, 1), ZONES)
    assert [o.play_id for o in occ] == ["b.20260302"]  # airing keyed by the slot's date


def test_play_ids_deterministic_unique_and_safe() -> None:
    p = programme(
        item("thoi-su", slot_id="sang"),
        item(
            "hop",
            zones=["thon-tay"],
            recurrence=Recurrence(kind="daily", start_date=dt.date(2026, 1, 1), at=dt.time(11)),
        ),
    )
    a = expand(p, local(2026, 3, 1), local(2026, 3, 8), ZONES)
    b = expand(p, local(2026, 3, 1), local(2026, 3, 8), ZONES)
    assert [o.play_id for o in a] == [o.play_id for o in b]
    assert a == b
    ids = [o.play_id for o in a]
    assert len(ids) == len(set(ids)) == 14
    assert all(len(i) <= 80 and re.fullmatch(r"[A-Za-z0-9_.:-]+", i) for i in ids)
    assert "thoi-su.20260301" in ids
    assert "thoi-su.20260302" in ids


def test_weekly_expansion_respects_days_and_inclusive_end() -> None:
    rec = Recurrence(
        kind="weekly",
        weekdays=frozenset({0, 3}),
        start_date=dt.date(2026, 3, 1),
        end_date=dt.date(2026, 3, 12),
        at=dt.time(10),
    )
    p = programme(item("w", nodes=["n1"], recurrence=rec))
    days = [
        o.start.astimezone(TZ).date()
        for o in expand(p, local(2026, 2, 1), local(2026, 4, 1), ZONES)
    ]
    # Mon 2, Thu 5, Mon 9, Thu 12 (end date inclusive)
    assert days == [dt.date(2026, 3, d) for d in (2, 5, 9, 12)]


def test_monthly_31_skips_short_months() -> None:
    rec = Recurrence(
        kind="monthly", month_days=frozenset({31}), start_date=dt.date(2026, 1, 1), at=dt.time(8)
    )
    p = programme(item("m", nodes=["n1"], recurrence=rec))
    occ = expand(p, local(2026, 1, 1), local(2027, 1, 1), ZONES)
    months = [o.start.astimezone(TZ).month for o in occ]
    assert months == [1, 3, 5, 7, 8, 10, 12]


def test_slot_item_only_on_slot_weekdays_and_dates_in_range() -> None:
    sunday = slot(id="cn", start=dt.time(8), weekdays=frozenset({6}))
    rec = Recurrence(kind="daily", start_date=dt.date(2026, 3, 1), end_date=dt.date(2026, 3, 15))
    p = programme(item("nn", slot_id="cn", recurrence=rec), slots=[sunday])
    occ = expand(p, local(2026, 2, 1), local(2026, 4, 1), ZONES)
    assert [o.play_id for o in occ] == ["nn.20260301", "nn.20260308", "nn.20260315"]


def test_once_airs_once() -> None:
    p = programme(item("o", slot_id="sang", recurrence=once(dt.date(2026, 3, 4))))
    occ = expand(p, local(2026, 3, 1), local(2026, 3, 31), ZONES)
    assert [o.play_id for o in occ] == ["o.20260304"]
