"""Moving items within a slot: priorities stay first, other days keep their order."""

from __future__ import annotations

import datetime as dt

import pytest

from schedules import LOCAL, expand
from schedules.reorder import MoveRefusedError, move_in_slot
from tests.schedules.conftest import ZONES, item, once, programme

TZ = LOCAL
DAY = dt.date(2026, 3, 2)


def order(p, day: dt.date = DAY) -> list[str]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=TZ)
    occ = expand(p, start, start + dt.timedelta(days=1), ZONES)
    return [o.item_id for o in occ if o.slot_id == "sang"]


def test_moving_up_swaps_with_the_previous_item_and_shifts_start_times() -> None:
    p = programme(
        item("a", slot_id="sang", duration_s=60),
        item("b", slot_id="sang", duration_s=30),
    )
    assert order(p) == ["a", "b"]  # equal positions: by id
    moved = move_in_slot(p, "b", DAY, -1)
    assert order(moved) == ["b", "a"]
    start = dt.datetime.combine(DAY, dt.time(), tzinfo=TZ)
    occ = expand(moved, start, start + dt.timedelta(days=1), ZONES)
    assert [o.start.astimezone(TZ).time() for o in occ] == [dt.time(6), dt.time(6, 0, 32)]
    assert order(move_in_slot(moved, "b", DAY, 1)) == ["a", "b"]


def test_an_item_absent_that_day_keeps_its_place_after_the_passed_one() -> None:
    p = programme(
        item("a", slot_id="sang", position=0),
        item("x", slot_id="sang", position=1, recurrence=once(DAY + dt.timedelta(days=1))),
        item("c", slot_id="sang", position=2),
    )
    moved = move_in_slot(p, "c", DAY, -1)
    assert order(moved) == ["c", "a"]
    assert order(moved, DAY + dt.timedelta(days=1)) == ["c", "a", "x"]


def test_refusals_change_nothing() -> None:
    p = programme(
        item("p", slot_id="sang", priority="priority"),
        item("n", slot_id="sang"),
        item("t", nodes=["n1"], recurrence=once(DAY, dt.time(9))),
    )
    cases = [("n", -1, "priority"), ("p", -1, "at_edge"), ("n", 1, "at_edge")]
    cases += [("t", 1, "not_in_slot"), ("zz", 1, "unknown_item")]
    for item_id, step, code in cases:
        with pytest.raises(MoveRefusedError) as caught:
            move_in_slot(p, item_id, DAY, step)
        assert caught.value.code == code
    with pytest.raises(MoveRefusedError) as caught:
        move_in_slot(p, "n", DAY - dt.timedelta(days=400), -1)
    assert caught.value.code == "not_on_day"
