"""The repeat fields every programme form shares (once / daily / weekly / monthly, the first
date, the days, an optional end date): posted text to a :class:`schedules.Recurrence`, or the
errors to show next to each field. The repeat form and the relays page both use it, with the
macro ``macros/repeat.html``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from schedules import Recurrence

REPEATS = ("once", "daily", "weekly", "monthly")
Errors = dict[str, str]  # field -> UI text key


@dataclass(frozen=True)
class RepeatForm:
    repeat: str = "daily"
    date: str = ""
    weekdays: tuple[str, ...] = ()
    month_days: str = ""  # "1, 15": days of the month, for a monthly repeat
    until: str = ""


def parse_time(text: str) -> dt.time | None:
    try:
        return dt.time.fromisoformat(text) if text else None
    except ValueError:
        return None


def parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def parse_weekdays(texts: tuple[str, ...]) -> frozenset[int]:
    return frozenset(int(d) for d in texts if d.isdigit() and int(d) < 7)


def parse_month_days(text: str) -> frozenset[int] | None:
    """ "1, 15" (commas or spaces) → {1, 15}; None when any part is not a day 1..31."""
    parts = text.replace(",", " ").split()
    if not all(p.isdigit() and 1 <= int(p) <= 31 for p in parts):
        return None
    return frozenset(int(p) for p in parts)


def recurrence_from_form(form: RepeatForm, at: dt.time | None) -> tuple[Recurrence | None, Errors]:
    """The recurrence the fields say, at ``at`` (None: in a slot); otherwise the errors by
    field. An end date before the first date is the caller's to refuse (the programme reports
    it as a conflict), so it is accepted here."""
    errors: Errors = {}
    first, last = parse_date(form.date), parse_date(form.until)
    if first is None:
        errors["date"] = "setup.error.bad_date"
    if form.until and last is None:
        errors["until"] = "setup.error.bad_date"
    if form.repeat not in REPEATS:
        errors["repeat"] = "setup.error.bad_repeat"
    weekdays = parse_weekdays(form.weekdays)
    if form.repeat == "weekly" and not weekdays:
        errors["weekdays"] = "setup.error.no_weekdays"
    month_days = parse_month_days(form.month_days)
    if form.repeat == "monthly" and not month_days:
        errors["month_days"] = (
            "setup.error.bad_month_days" if month_days is None else "setup.error.no_month_days"
        )
    if errors or first is None:
        return None, errors
    try:
        recurrence = Recurrence(
            kind=form.repeat,
            start_date=first,
            end_date=last if form.repeat != "once" else None,
            weekdays=weekdays if form.repeat == "weekly" else None,
            month_days=month_days if form.repeat == "monthly" else None,
            at=at.replace(microsecond=0) if at else None,
        )
    except ValidationError:  # a date past the model's last
        return None, {"date": "setup.error.bad_date"}
    return recurrence, {}


def recurrence_values(rec: Recurrence) -> dict[str, Any]:
    """The repeat fields for an existing recurrence."""
    return {
        "repeat": rec.kind if rec.kind in REPEATS else "daily",
        "date": rec.start_date.isoformat(),
        "weekdays": [str(d) for d in sorted(rec.weekdays or ())],
        "month_days": ", ".join(str(d) for d in sorted(rec.month_days or ())),
        "until": rec.end_date.isoformat() if rec.end_date else "",
    }
