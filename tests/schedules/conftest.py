"""Shared builders for programme tests (fixed dates, no clocks)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from schedules import Programme, ProgrammeItem, QuietHours, Recurrence, Slot

ZONES = {"thon-dong": ["n1", "n2"], "thon-tay": ["n3"], "thon-bac": ["n2", "n4"]}


def slot(**kw: Any) -> Slot:
    base: dict[str, Any] = {
        "id": "sang",
        "name": "Bản tin sáng",
        "start": dt.time(6),
        "max_length_s": 600,
        "zones": ["thon-dong", "thon-tay"],
    }
    return Slot(**(base | kw))


def item(id: str, **kw: Any) -> ProgrammeItem:
    base: dict[str, Any] = {
        "id": id,
        "bulletin_id": f"b-{id}",
        "title": id.upper(),
        "duration_s": 100.0,
        "recurrence": Recurrence(kind="daily", start_date=dt.date(2026, 1, 1)),
    }
    return ProgrammeItem(**(base | kw))


def once(day: dt.date, at: dt.time | None = None) -> Recurrence:
    return Recurrence(kind="once", start_date=day, at=at)


def programme(
    *items: ProgrammeItem, slots: list[Slot] | None = None, quiet: QuietHours | None = None
) -> Programme:
    return Programme(
        slots=[slot()] if slots is None else slots, items=list(items), quiet_hours=quiet
    )
