"""Which day of the calendar a timed thing is listed on, and whether it began before it."""

from __future__ import annotations

import datetime as dt

from controller.programme.timed import Kind, TimedThing
from controller.web.pages_calendar import by_day
from controller.web.programme_view import Places
from schedules import LOCAL

PLACES = Places({"dong": ["loa-1"]}, {"dong": "Thôn Đông"}, {"loa-1": "Loa 1"})


def thing(start: dt.datetime, kind: Kind = "alert") -> TimedThing:
    return TimedThing(
        kind=kind,
        start=start,
        duration_s=7200.0,
        title="Bão số 3",
        status="playing",
        node_ids=("loa-1",),
        ref=("alert", "a1"),
    )


def test_an_alert_on_air_since_the_evening_before_is_listed_first_and_says_since_when() -> None:
    day = dt.date(2026, 12, 7)
    late = dt.datetime(2026, 12, 6, 23, 20, tzinfo=LOCAL)
    morning = dt.datetime(2026, 12, 7, 1, 2, tzinfo=LOCAL)
    days = by_day([thing(late), thing(morning, "bulletin")], day, day, PLACES, str)
    first, second = days[day]
    assert (first.at, first.earlier) == (late, True)
    assert (second.at, second.earlier) == (morning, False)


def test_things_before_the_window_that_started_there_are_not_moved_beyond_it() -> None:
    day = dt.date(2026, 12, 7)
    inside = dt.datetime(2026, 12, 7, 17, 0, tzinfo=LOCAL)
    after = dt.datetime(2026, 12, 8, 6, 0, tzinfo=LOCAL)
    days = by_day([thing(inside), thing(after)], day, day, PLACES, str)
    assert [e.at for e in days[day]] == [inside]
    assert not days[day][0].earlier
