"""Dates and times as Vietnamese write them, ``dd/mm/yyyy`` and ``dd/mm/yyyy HH:MM``, read from
the forms and written back into them. ISO 8601 is still read (scripts, requests stored before)."""

from __future__ import annotations

import datetime as dt

DAY = "%d/%m/%Y"
DAY_TIME = "%d/%m/%Y %H:%M"
DAY_TIMES = (DAY_TIME, "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %Hh%M")  # "06h30" is written too


def parse_day(text: str) -> dt.date:
    """``07/12/2026`` (or ``7/12/2026``, or ISO ``2026-12-07``); ValueError otherwise."""
    text = text.strip()
    try:
        return dt.datetime.strptime(text, DAY).date()
    except ValueError:
        return dt.date.fromisoformat(text)


def parse_day_time(text: str) -> dt.datetime:
    """``07/12/2026 06:30`` (or ISO); naive, in local time unless the ISO text has a zone."""
    text = " ".join(text.split())
    for pattern in DAY_TIMES:
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    return dt.datetime.fromisoformat(text)


def day_text(day: dt.date) -> str:
    return day.strftime(DAY)


def day_time_text(at: dt.datetime) -> str:
    return at.strftime(DAY_TIME)
