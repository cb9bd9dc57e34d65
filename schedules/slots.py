"""What a slot or a quiet-hours window would clash with, checked before either is stored.

Slots are weekly windows: two clash when they share a weekday and a zone (a slot without
zones counts as the whole commune) and their times meet, including a slot that runs past
midnight into the next day. Quiet hours clash with any slot window they cut into and with any
item at its own time that would then air inside them: quiet hours block all but emergencies,
so accepting either would silently drop airings.
"""

from __future__ import annotations

import datetime as dt

from schedules.conflicts import Conflict, airing_in_quiet
from schedules.model import Programme, QuietHours, Recurrence, Slot

WEEK_S = 7 * 24 * 3600
# Any Monday: quiet hours repeat every day, so one day's wall clock stands for all of them.
_MONDAY = dt.date(2024, 1, 1)


def _windows(slot: Slot) -> list[tuple[int, int]]:
    """The slot's windows as seconds from Monday 00:00, one per weekday."""
    start = slot.start.hour * 3600 + slot.start.minute * 60 + slot.start.second
    return [(d * 86400 + start, d * 86400 + start + slot.max_length_s) for d in slot.weekdays]


def _meet(a: tuple[int, int], b: tuple[int, int]) -> bool:
    # Sunday's late slot wraps into Monday: compare with b shifted a week either way.
    return any(a[0] < b[1] + k and b[0] + k < a[1] for k in (-WEEK_S, 0, WEEK_S))


def _share_zone(a: Slot, b: Slot) -> bool:
    return not a.zones or not b.zones or bool(set(a.zones) & set(b.zones))


def _span(slot: Slot) -> str:
    end = dt.datetime.combine(_MONDAY, slot.start) + dt.timedelta(seconds=slot.max_length_s)
    return f"{slot.start:%H:%M}–{end:%H:%M}"


def slot_overlaps(programme: Programme, slot: Slot) -> list[Conflict]:
    """Other slots (not ``slot.id``) whose windows meet ``slot``'s on a shared zone."""
    out: list[Conflict] = []
    for other in programme.slots:
        if other.id == slot.id or not _share_zone(slot, other):
            continue
        if any(_meet(a, b) for a in _windows(slot) for b in _windows(other)):
            out.append(
                Conflict(
                    code="slot_overlap",
                    message=f"slot {slot.name!r} ({_span(slot)}) overlaps slot "
                    f"{other.name!r} ({_span(other)}) on the same day and zone",
                    message_vi=f"Trùng giờ với khung «{other.name}» ({_span(other)}) "
                    "cùng ngày, cùng khu vực",
                )
            )
    return out


def slot_in_quiet(qh: QuietHours | None, slot: Slot) -> bool:
    if qh is None:
        return False
    start = dt.datetime.combine(_MONDAY, slot.start)
    return airing_in_quiet(qh, start, start + dt.timedelta(seconds=slot.max_length_s))


def slot_quiet_conflict(programme: Programme, slot: Slot) -> list[Conflict]:
    qh = programme.quiet_hours
    if qh is None or not slot_in_quiet(qh, slot):
        return []
    window = f"{qh.start:%H:%M}–{qh.end:%H:%M}"
    return [
        Conflict(
            code="quiet_hours",
            message=f"slot {slot.name!r} ({_span(slot)}) falls in quiet hours {window}",
            message_vi=f"Khung giờ {_span(slot)} rơi vào giờ yên tĩnh {window}",
        )
    ]


def last_date(rec: Recurrence) -> dt.date:
    """The last local date a recurrence airs on (``date.max`` when it has no end)."""
    if rec.kind == "once":
        return rec.start_date
    return rec.end_date or dt.date.max


def quiet_hours_conflicts(programme: Programme, qh: QuietHours, today: dt.date) -> list[Conflict]:
    """Slots and timed items still to air from ``today`` that ``qh`` would silence."""
    window = f"{qh.start:%H:%M}–{qh.end:%H:%M}"
    out = [
        Conflict(
            code="quiet_hours",
            message=f"quiet hours {window} cut into slot {s.name!r} ({_span(s)})",
            message_vi=f"Giờ yên tĩnh {window} cắt vào khung «{s.name}» ({_span(s)})",
        )
        for s in programme.slots
        if slot_in_quiet(qh, s)
    ]
    for item in programme.items:
        rec = item.recurrence
        if rec.at is None or last_date(rec) < today:
            continue
        start = dt.datetime.combine(_MONDAY, rec.at)
        if airing_in_quiet(qh, start, start + dt.timedelta(seconds=item.duration_s)):
            out.append(
                Conflict(
                    code="quiet_hours",
                    message=f"quiet hours {window} would silence {item.title!r} at {rec.at:%H:%M}",
                    message_vi=f"Giờ yên tĩnh {window} sẽ chặn «{item.title}» "
                    f"phát lúc {rec.at:%H:%M}",
                )
            )
    return out
