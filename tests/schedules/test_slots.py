"""Slot and quiet-hours clashes: what a new slot or quiet window would break."""

from __future__ import annotations

import datetime as dt

from schedules import Programme, ProgrammeItem, QuietHours, Recurrence, Slot
from schedules.slots import quiet_hours_conflicts, slot_overlaps, slot_quiet_conflict

MORNING = Slot(
    id="sang", name="Bản tin sáng", start=dt.time(6), max_length_s=1800, zones=["thon-dong"]
)
TODAY = dt.date(2026, 12, 7)


def slot(**fields: object) -> Slot:
    base: dict[str, object] = {
        "id": "moi",
        "name": "Khung mới",
        "start": dt.time(6, 15),
        "max_length_s": 600,
        "zones": ["thon-dong"],
    }
    return Slot.model_validate({**base, **fields})


def test_a_slot_meeting_another_on_a_shared_zone_and_day_overlaps():
    (found,) = slot_overlaps(Programme(slots=[MORNING]), slot())
    assert found.code == "slot_overlap"
    assert "Bản tin sáng" in found.message_vi
    assert "06:00–06:30" in found.message_vi


def test_slots_that_only_touch_or_differ_in_zone_or_day_do_not_overlap():
    prog = Programme(slots=[MORNING])
    assert slot_overlaps(prog, slot(start=dt.time(6, 30))) == []  # starts as the other ends
    assert slot_overlaps(prog, slot(zones=["thon-tay"])) == []
    weekdays_only = MORNING.model_copy(update={"weekdays": frozenset(range(5))})
    assert slot_overlaps(Programme(slots=[weekdays_only]), slot(weekdays=[5, 6])) == []
    assert slot_overlaps(prog, MORNING) == []  # a slot never clashes with itself (an edit)


def test_a_slot_without_zones_is_the_whole_commune():
    assert slot_overlaps(Programme(slots=[MORNING]), slot(zones=[]))


def test_sundays_late_slot_runs_into_mondays_early_one():
    late = slot(id="khuya", start=dt.time(23, 50), max_length_s=1200, weekdays=[6])
    early = slot(id="som", start=dt.time(0, 5), weekdays=[0])
    assert slot_overlaps(Programme(slots=[late]), early)


def test_a_slot_in_quiet_hours_is_refused():
    prog = Programme(quiet_hours=QuietHours(start=dt.time(21, 30), end=dt.time(5)))
    assert slot_quiet_conflict(prog, slot(start=dt.time(4, 50)))  # starts in them
    assert slot_quiet_conflict(prog, slot(start=dt.time(21, 25)))  # quiet hours begin in it
    assert slot_quiet_conflict(prog, slot(start=dt.time(5))) == []


def timed(at: dt.time, **rec: object) -> ProgrammeItem:
    return ProgrammeItem(
        id="hop",
        bulletin_id="b1",
        title="Họp dân",
        duration_s=120,
        zones=["thon-dong"],
        recurrence=Recurrence.model_validate(
            {"kind": "daily", "start_date": "2026-12-01", "at": at, **rec}
        ),
    )


def test_quiet_hours_that_would_silence_a_slot_or_a_timed_item_are_refused():
    quiet = QuietHours(start=dt.time(5, 50), end=dt.time(6, 10))
    (found,) = quiet_hours_conflicts(Programme(slots=[MORNING]), quiet, TODAY)
    assert "Bản tin sáng" in found.message_vi
    (found,) = quiet_hours_conflicts(Programme(items=[timed(dt.time(6))]), quiet, TODAY)
    assert "Họp dân" in found.message_vi
    assert "06:00" in found.message_vi


def test_an_item_that_no_longer_airs_does_not_block_quiet_hours():
    quiet = QuietHours(start=dt.time(5, 50), end=dt.time(6, 10))
    ended = timed(dt.time(6), end_date="2026-12-06")
    assert quiet_hours_conflicts(Programme(items=[ended]), quiet, TODAY) == []
