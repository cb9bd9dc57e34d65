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
from controller.web.repeat_form import (
    Errors,
    RepeatForm,
    parse_time,
    parse_weekdays,
    recurrence_from_form,
    recurrence_values,
)
from schedules import ProgrammeItem, QuietHours, Slot

NAME_MAX = 100
PRIORITIES = ("priority", "normal", "filler")


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


def new_slot_id() -> str:
    return f"k-{uuid.uuid4().hex[:10]}"


def slot_from_form(form: SlotForm, slot_id: str, gap_s: float = 2.0) -> tuple[Slot | None, Errors]:
    errors: Errors = {}
    name = form.name.strip()
    if not name:
        errors["name"] = "setup.error.no_name"
    elif len(name) > NAME_MAX:
        errors["name"] = "setup.error.long_name"
    start, end = parse_time(form.start), parse_time(form.end)
    if start is None:
        errors["start"] = "setup.error.bad_time"
    if end is None:
        errors["end"] = "setup.error.bad_time"
    elif start is not None and end <= start:
        errors["end"] = "setup.error.end_before_start"
    weekdays = parse_weekdays(form.weekdays)
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
    begin, until = parse_time(start), parse_time(end)
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
    at = parse_time(form.at) if form.place == "at" else None
    if form.place == "slot" and not form.slot:
        errors["slot"] = "setup.error.no_slot"
    elif form.place == "at" and at is None:
        errors["at"] = "setup.error.bad_time"
    elif form.place not in ("slot", "at"):
        errors["place"] = "setup.error.no_place"
    if form.place == "at" and not form.zones:
        errors["zones"] = "setup.error.no_zones"
    repeat = RepeatForm(form.repeat, form.date, form.weekdays, form.month_days, form.until)
    recurrence, repeat_errors = recurrence_from_form(repeat, at)
    errors.update(repeat_errors)
    if errors or bulletin is None or recurrence is None:
        return None, errors
    try:
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
        **recurrence_values(rec),
        "zones": list(item.zones),
        "priority": item.priority,
    }
