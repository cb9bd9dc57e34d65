"""The slot, quiet-hours and item forms: posted text to the programme's models, or the errors
to show next to each field. Only the shape is checked here (a time is a time, an end after its
start); what a change would clash with is for ``controller.programme.setup``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from controller.models import Bulletin
from schedules import ProgrammeItem, QuietHours, Recurrence, Slot

NAME_MAX = 100
PRIORITIES = ("priority", "normal", "filler")
REPEATS = ("once", "daily", "weekly", "monthly")
Errors = dict[str, str]  # field -> UI text key


@dataclass(frozen=True)
class SlotForm:
    name: str = ""
    start: str = ""
    end: str = ""
    weekdays: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemForm:
    bulletin: str = ""
    place: str = "slot"  # "slot" | "at"
    slot: str = ""
    at: str = ""
    repeat: str = "daily"
    date: str = ""
    weekdays: tuple[str, ...] = ()
    until: str = ""
    zones: tuple[str, ...] = ()
    priority: str = "normal"
    month_days: str = ""  # "1, 15": days of the month, for a monthly repeat


def _time(text: str) -> dt.time | None:
    try:
        return dt.time.fromisoformat(text) if text else None
    except ValueError:
        return None


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _weekdays(texts: tuple[str, ...]) -> frozenset[int]:
    return frozenset(int(d) for d in texts if d.isdigit() and int(d) < 7)


def _month_days(text: str) -> frozenset[int] | None:
    """ "1, 15" (commas or spaces) → {1, 15}; None when any part is not a day 1..31."""
    parts = text.replace(",", " ").split()
    if not all(p.isdigit() and 1 <= int(p) <= 31 for p in parts):
        return None
    return frozenset(int(p) for p in parts)


def new_slot_id() -> str:
    return f"k-{uuid.uuid4().hex[:10]}"


def slot_from_form(form: SlotForm, slot_id: str, gap_s: float = 2.0) -> tuple[Slot | None, Errors]:
    errors: Errors = {}
    name = form.name.strip()
    if not name:
        errors["name"] = "setup.error.no_name"
    elif len(name) > NAME_MAX:
        errors["name"] = "setup.error.long_name"
    start, end = _time(form.start), _time(form.end)
    if start is None:
        errors["start"] = "setup.error.bad_time"
    if end is None:
        errors["end"] = "setup.error.bad_time"
    elif start is not None and end <= start:
        errors["end"] = "setup.error.end_before_start"
    weekdays = _weekdays(form.weekdays)
    if not weekdays:
        errors["weekdays"] = "setup.error.no_weekdays"
    if not form.zones:
        errors["zones"] = "setup.error.no_zones"
    if errors or start is None or end is None:
        return None, errors
    length = (
        dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)
    ).seconds
    slot = Slot(
        id=slot_id,
        name=name,
        start=start.replace(second=0, microsecond=0),
        max_length_s=length,
        weekdays=weekdays,
        zones=sorted(set(form.zones)),
        gap_s=gap_s,
    )
    return slot, {}


def slot_values(slot: Slot) -> dict[str, Any]:
    """The form's fields for an existing slot."""
    end = dt.datetime.combine(dt.date.min, slot.start) + dt.timedelta(seconds=slot.max_length_s)
    return {
        "name": slot.name,
        "start": f"{slot.start:%H:%M}",
        "end": f"{end:%H:%M}",
        "weekdays": [str(d) for d in sorted(slot.weekdays)],
        "zones": list(slot.zones),
    }


def quiet_from_form(start: str, end: str) -> tuple[QuietHours | None, Errors]:
    errors: Errors = {}
    begin, until = _time(start), _time(end)
    if begin is None:
        errors["quiet_start"] = "setup.error.bad_time"
    if until is None:
        errors["quiet_end"] = "setup.error.bad_time"
    elif begin == until:
        errors["quiet_end"] = "setup.error.quiet_empty"
    if errors or begin is None or until is None:
        return None, errors
    return QuietHours(start=begin.replace(microsecond=0), end=until.replace(microsecond=0)), {}


def item_from_form(
    form: ItemForm, item_id: str, bulletin: Bulletin | None
) -> tuple[ProgrammeItem | None, Errors]:
    errors: Errors = {}
    if bulletin is None:
        errors["bulletin"] = "setup.error.no_bulletin"
    if form.priority not in PRIORITIES:
        errors["priority"] = "setup.error.bad_priority"
    at = _time(form.at) if form.place == "at" else None
    if form.place == "slot" and not form.slot:
        errors["slot"] = "setup.error.no_slot"
    elif form.place == "at" and at is None:
        errors["at"] = "setup.error.bad_time"
    elif form.place not in ("slot", "at"):
        errors["place"] = "setup.error.no_place"
    if form.place == "at" and not form.zones:
        errors["zones"] = "setup.error.no_zones"
    first, last = _date(form.date), _date(form.until)
    if first is None:
        errors["date"] = "setup.error.bad_date"
    if form.until and last is None:
        errors["until"] = "setup.error.bad_date"
    if form.repeat not in REPEATS:
        errors["repeat"] = "setup.error.bad_repeat"
    weekdays = _weekdays(form.weekdays)
    if form.repeat == "weekly" and not weekdays:
        errors["weekdays"] = "setup.error.no_weekdays"
    month_days = _month_days(form.month_days)
    if form.repeat == "monthly" and not month_days:
        errors["month_days"] = (
            "setup.error.bad_month_days" if month_days is None else "setup.error.no_month_days"
        )
    if errors or bulletin is None or first is None:
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
        item = ProgrammeItem(
            id=item_id,
            bulletin_id=bulletin.id,
            title=bulletin.title,
            duration_s=bulletin.audio.duration_s,
            priority=form.priority,
            slot_id=form.slot if form.place == "slot" else None,
            recurrence=recurrence,
            zones=sorted(set(form.zones)),
        )
    except ValidationError:
        return None, {"date": "setup.error.bad_date"}
    return item, {}


def item_values(item: ProgrammeItem) -> dict[str, Any]:
    rec = item.recurrence
    return {
        "bulletin": item.bulletin_id,
        "place": "slot" if item.slot_id else "at",
        "slot": item.slot_id or "",
        "at": f"{rec.at:%H:%M}" if rec.at else "",
        "repeat": rec.kind if rec.kind in REPEATS else "daily",
        "date": rec.start_date.isoformat(),
        "weekdays": [str(d) for d in sorted(rec.weekdays or ())],
        "month_days": ", ".join(str(d) for d in sorted(rec.month_days or ())),
        "until": rec.end_date.isoformat() if rec.end_date else "",
        "zones": list(item.zones),
        "priority": item.priority,
    }
