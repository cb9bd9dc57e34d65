"""Days and months asked for in a page's address: one the calendar cannot hold is not a 500."""

from __future__ import annotations

import datetime as dt

import pytest

from controller.web.pages_programme import parse_day, today
from controller.web.pages_reports import chosen_month
from controller.web.programme_view import local_day, week
from schedules import LOCAL


@pytest.mark.parametrize("asked", ["9999-12-31", "9999-06-01", "0001-01-01"])
def test_a_programme_day_at_the_calendars_ends_shows_today(asked):
    day = parse_day(asked)
    assert day == today()
    local_day(week(day)[-1] + dt.timedelta(days=2), LOCAL).astimezone(dt.UTC)


def test_a_programme_day_within_the_calendar_is_kept():
    assert parse_day("2031-02-03") == dt.date(2031, 2, 3)


@pytest.mark.parametrize("asked", ["9999-12", "0001-01"])
def test_a_report_month_at_the_calendars_ends_is_a_clear_error(asked):
    assert chosen_month(asked) == (None, "reports.monthly.error.month")
