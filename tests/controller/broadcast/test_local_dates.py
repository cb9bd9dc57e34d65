"""Dates typed the Vietnamese way (dd/mm/yyyy) in the request form; a bad one is a clear
refusal on its own field."""

from __future__ import annotations

import datetime as dt

import pytest

from controller.broadcast.approval import Form, from_form
from controller.broadcast.local_dates import day_text, day_time_text, parse_day, parse_day_time


@pytest.mark.parametrize(
    ("text", "day"),
    [("07/12/2026", dt.date(2026, 12, 7)), ("7/1/2027", dt.date(2027, 1, 7))],
)
def test_days_are_read_day_first(text, day):
    assert parse_day(text) == day
    assert parse_day(day.isoformat()) == day  # what scripts and older forms sent


@pytest.mark.parametrize("text", ["12/31/2026", "31/02/2026", "tomorrow", "2026/12/07"])
def test_a_day_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError, match=r"format|does not match|Invalid"):
        parse_day(text)


def test_times_are_read_day_first_and_written_back_alike():
    at = dt.datetime(2026, 12, 7, 6, 30)
    for text in ("07/12/2026 06:30", " 07/12/2026   06:30 ", "07/12/2026 06h30"):
        assert parse_day_time(text) == at
    assert (day_text(at.date()), day_time_text(at)) == ("07/12/2026", "07/12/2026 06:30")


def form(when: str, *, slot: str = "", date: str = "", at: str = "") -> Form:
    return Form(where="all", when=when, slot=slot, date=date, at=at)


def test_the_request_form_reads_dd_mm_yyyy_and_refuses_month_first():
    request, problems = from_form(form(when="slot", slot="sang", date="07/12/2026"))
    assert problems == []
    assert request is not None
    assert request.when.recurrence is not None
    assert request.when.recurrence.start_date == dt.date(2026, 12, 7)
    _, problems = from_form(form(when="slot", slot="sang", date="12/31/2026"))
    assert [(p.field, p.code) for p in problems] == [("date", "bad_date")]
    _, problems = from_form(form(when="at", at="31/12/2026 25:00"))
    assert [(p.field, p.code) for p in problems] == [("at", "bad_time")]
