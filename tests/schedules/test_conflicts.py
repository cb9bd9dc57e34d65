from __future__ import annotations

import datetime as dt
from typing import Any

from schedules import (
    LOCAL,
    Conflict,
    Programme,
    ProgrammeItem,
    QuietHours,
    Recurrence,
    check_item,
    in_quiet_hours,
)
from tests.schedules.conftest import ZONES, item, once, programme

TZ = LOCAL
DAY = dt.date(2026, 3, 2)
QH = QuietHours(start=dt.time(21, 30), end=dt.time(5))


def check(p: Programme, it: ProgrammeItem, **kw: Any) -> list[Conflict]:
    return check_item(p, it, ZONES, from_date=DAY, **kw)


def test_slot_overflow_exact_message() -> None:
    # Slot max 600 s: 300 + 2 + 200 + 2 + 150 = 654 s → 54 s over.
    p = programme(
        item("a", slot_id="sang", duration_s=300, position=1),
        item("b", slot_id="sang", duration_s=200, position=2),
    )
    new = item("c", slot_id="sang", duration_s=150, position=3, recurrence=once(DAY))
    (c,) = check(p, new)
    assert c.code == "slot_overflow"
    assert c.message == (
        "slot 'sang' (Bản tin sáng) on 2026-03-02 overflows by 54.0 s (max 600 s); items: a, b, c"
    )
    assert c.message_vi == (
        "khung giờ 'sang' (Bản tin sáng) ngày 02/03/2026 vượt 54.0 giây "
        "(tối đa 600 giây); các mục: a, b, c"
    )


def test_overflow_counts_other_dates() -> None:
    p = programme(item("a", slot_id="sang", duration_s=500))
    c = check(p, item("b", slot_id="sang", duration_s=200, position=1), horizon_days=5)
    assert [x.code for x in c] == ["slot_overflow"]
    assert c[0].message.endswith("items: a, b (and on 4 more date(s))")


def test_fitting_slot_has_no_conflict() -> None:
    p = programme(item("a", slot_id="sang", duration_s=300))
    assert check(p, item("b", slot_id="sang", duration_s=298, position=1)) == []  # 300+2+298


def test_overlap_on_shared_node() -> None:
    p = programme(item("hop", zones=["thon-dong"], recurrence=once(DAY, dt.time(9))))
    new = item("loa", zones=["thon-bac"], recurrence=once(DAY, dt.time(9, 1)))  # n2 shared
    (c,) = check(p, new)
    assert c.code == "overlap"
    assert c.message == "item 'loa' overlaps 'hop' (HOP) on node 'n2' at 2026-03-02 09:01:00"
    assert "trùng giờ" in c.message_vi
    assert "'n2'" in c.message_vi


def test_overlap_on_disjoint_nodes_is_fine() -> None:
    p = programme(item("hop", zones=["thon-dong"], recurrence=once(DAY, dt.time(9))))
    new = item("loa", zones=["thon-tay"], recurrence=once(DAY, dt.time(9, 1)))
    assert check(p, new) == []


def test_back_to_back_is_not_overlap() -> None:
    p = programme(item("hop", nodes=["n1"], recurrence=once(DAY, dt.time(9))))  # 100 s
    assert check(p, item("x", nodes=["n1"], recurrence=once(DAY, dt.time(9, 1, 40)))) == []


def test_recurring_overlap_with_slot_airing() -> None:
    p = programme(item("a", slot_id="sang", duration_s=300))
    rec = Recurrence(kind="weekly", weekdays=frozenset({2}), start_date=DAY, at=dt.time(6, 2))
    (c,) = check(p, item("t", nodes=["n3"], recurrence=rec))
    assert c.code == "overlap"
    assert "'t' overlaps 'a'" in c.message
    assert "2026-03-04 06:02:00" in c.message


def test_existing_clashes_are_not_blamed_on_the_new_item() -> None:
    p = programme(
        item("x", nodes=["n1"], recurrence=once(DAY, dt.time(9))),
        item("y", nodes=["n1"], recurrence=once(DAY, dt.time(9))),
    )
    assert check(p, item("z", nodes=["n4"], recurrence=once(DAY, dt.time(9)))) == []


def test_editing_an_item_replaces_it() -> None:
    p = programme(item("a", slot_id="sang", duration_s=500))
    assert check(p, item("a", slot_id="sang", duration_s=590)) == []


def test_in_quiet_hours_wraps_midnight() -> None:
    assert in_quiet_hours(QH, dt.datetime(2026, 3, 2, 21, 30))
    assert in_quiet_hours(QH, dt.datetime(2026, 3, 2, 23, 59))
    assert in_quiet_hours(QH, dt.datetime(2026, 3, 3, 0, 0))
    assert in_quiet_hours(QH, dt.datetime(2026, 3, 3, 4, 59, 59))
    assert not in_quiet_hours(QH, dt.datetime(2026, 3, 3, 5, 0))
    assert not in_quiet_hours(QH, dt.datetime(2026, 3, 2, 21, 29, 59))
    day_qh = QuietHours(start=dt.time(12), end=dt.time(13, 30))
    assert in_quiet_hours(day_qh, dt.datetime(2026, 3, 2, 12, 45, tzinfo=TZ))
    assert not in_quiet_hours(day_qh, dt.datetime(2026, 3, 2, 13, 30))


def test_quiet_hours_conflict_message() -> None:
    p = programme(quiet=QH)
    (c,) = check(p, item("k", nodes=["n1"], recurrence=once(DAY, dt.time(4, 30))))
    assert c.code == "quiet_hours"
    assert c.message == "item 'k' airs at 2026-03-02 04:30 during quiet hours 21:30–05:00"
    assert c.message_vi == "mục 'k' phát lúc 04:30 02/03/2026 trong giờ yên tĩnh 21:30–05:00"


def test_airing_running_into_quiet_hours_conflicts() -> None:
    p = programme(quiet=QH)
    it = item("k", nodes=["n1"], duration_s=120, recurrence=once(DAY, dt.time(21, 29)))
    assert [c.code for c in check(p, it)] == ["quiet_hours"]


def test_unknown_slot_zone_and_bad_recurrence() -> None:
    p = programme()
    (c,) = check(p, item("a", slot_id="toi"))
    assert (c.code, c.message) == ("unknown_slot", "item 'a': unknown slot 'toi'")
    c2 = check(p, item("b", slot_id="sang", zones=["thon-nam"]))
    assert [(c.code, c.message) for c in c2] == [
        ("unknown_zone", "item 'b': unknown zone 'thon-nam'")
    ]
    bad = Recurrence(kind="daily", start_date=dt.date(2026, 3, 5), end_date=dt.date(2026, 3, 4))
    (c3,) = check(p, item("d", slot_id="sang", recurrence=bad))
    assert c3.code == "bad_recurrence"
    assert c3.message == "item 'd': end date 2026-03-04 is before start date 2026-03-05"


def test_emergency_is_not_scheduled() -> None:
    (c,) = check(programme(), item("e", slot_id="sang", priority="emergency"))
    assert c.code == "emergency"
