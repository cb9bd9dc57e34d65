"""The relay's windows: the programme's own recurrences, a start time, a length."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from schedules import LOCAL, Recurrence, RelayItem, first_clash


def vov1(**recurrence: object) -> RelayItem:
    rec = {"kind": "daily", "start_date": dt.date(2026, 12, 1), "at": dt.time(6, 0), **recurrence}
    return RelayItem(
        id="vov1-sang",
        title="VOV1 thời sự",
        url="https://example.org/vov1.mp3",
        duration_s=1800,
        recurrence=Recurrence.model_validate(rec),
        zones=["thon-dong"],
    )


def local(year: int, month: int, day: int, *hms: int) -> dt.datetime:
    hour, minute, second = (*hms, 0, 0, 0)[:3]
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=LOCAL)


def test_a_daily_relay_airs_0600_to_0630_every_day():
    item = vov1()
    assert item.window_at(local(2026, 12, 6, 6, 0)) is not None
    window = item.window_at(local(2026, 12, 6, 6, 29, 59))
    assert window is not None
    assert (window.start, window.end) == (local(2026, 12, 6, 6, 0), local(2026, 12, 6, 6, 30))
    assert item.window_at(local(2026, 12, 6, 6, 30)) is None  # the end is exclusive
    assert item.window_at(local(2026, 12, 6, 5, 59, 59)) is None
    assert item.window_at(local(2026, 11, 30, 6, 10)) is None  # before its first date
    days = item.windows(local(2026, 12, 1), local(2026, 12, 7, 23))
    assert [w.start.day for w in days] == [1, 2, 3, 4, 5, 6, 7]


def test_a_weekly_relay_airs_only_on_its_weekdays():
    item = vov1(kind="weekly", weekdays=[6])  # Sundays
    assert item.window_at(local(2026, 12, 6, 6, 10)) is not None  # a Sunday
    assert item.window_at(local(2026, 12, 7, 6, 10)) is None


def test_a_window_past_midnight_belongs_to_the_day_it_starts():
    item = vov1(kind="once", start_date=dt.date(2026, 12, 6), at=dt.time(23, 45))
    window = item.window_at(local(2026, 12, 7, 0, 10))
    assert window is not None
    assert window.start == local(2026, 12, 6, 23, 45)


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"duration_s": 0}, "duration_s"),
        ({"duration_s": 7 * 3600}, "duration_s"),
        ({"zones": [], "nodes": []}, "zones"),
        ({"recurrence": {"kind": "daily", "start_date": "2026-12-01"}}, "start time"),
    ],
)
def test_a_relay_without_a_window_or_a_place_is_refused(change, word):
    data = {**vov1().model_dump(mode="json"), **change}
    with pytest.raises(ValidationError, match=word):
        RelayItem.model_validate(data)


def relay(ident: str, at: dt.time, duration_s: int, **recurrence: object) -> RelayItem:
    rec = {"kind": "daily", "start_date": dt.date(2026, 12, 1), "at": at, **recurrence}
    return vov1().model_copy(
        update={
            "id": ident,
            "duration_s": duration_s,
            "recurrence": Recurrence.model_validate(rec),
        }
    )


SINCE = local(2026, 12, 1)


def test_a_monthly_relay_meets_a_weekly_one_on_the_first_day_both_air():
    weekly = relay("t246", dt.time(6, 0), 1800, kind="weekly", weekdays=[0, 2, 4])
    monthly = relay("ngay15", dt.time(6, 15), 600, kind="monthly", month_days=[15])
    clash = first_clash(monthly, weekly, SINCE)
    assert clash is not None
    # 15/12/2026 is a Tuesday; 15/01/2027 a Friday
    assert clash[0].start == local(2027, 1, 15, 6, 15)
    assert clash[1].start == local(2027, 1, 15, 6, 0)


@pytest.mark.parametrize(
    ("other", "meets"),
    [
        (relay("next", dt.time(6, 30), 1800), False),  # back to back
        (relay("tue", dt.time(6, 0), 1800, kind="weekly", weekdays=[1]), False),
        (relay("ended", dt.time(6, 0), 1800, end_date=dt.date(2026, 11, 30)), False),
        (relay("midnight", dt.time(23, 50), 3600), False),
        (relay("before", dt.time(5, 45), 1800), True),
        (relay("later", dt.time(6, 10), 60, kind="once", start_date=dt.date(2027, 6, 2)), True),
    ],
)
def test_two_relays_meet_only_where_their_windows_overlap(other, meets):
    mine = relay("mine", dt.time(6, 0), 1800, kind="weekly", weekdays=[0, 2, 4])
    assert (first_clash(mine, other, SINCE) is not None) is meets
    assert (first_clash(other, mine, SINCE) is not None) is meets


def test_a_window_past_midnight_meets_the_next_mornings():
    late = relay("late", dt.time(23, 30), 3600)
    early = relay("early", dt.time(0, 15), 600, kind="once", start_date=dt.date(2026, 12, 3))
    clash = first_clash(early, late, SINCE)
    assert clash is not None
    assert clash[1].start == local(2026, 12, 2, 23, 30)
