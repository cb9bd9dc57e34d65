"""Conflicts found when an item is scheduled, not on air.

``check_item`` compares the programme *with* the candidate item (replacing an item of the same id,
so edits are checked too) against the programme *without* it, and reports only what the item
introduces: overflowing slots it is in, new overlaps on a node, airings pushed into quiet hours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from schedules.expand import Occurrence, expand_items, slot_items_on
from schedules.model import Programme, ProgrammeItem, QuietHours


class Conflict(BaseModel):
    """A reason an item cannot be scheduled as given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(
        description="slot_overflow | overlap | quiet_hours | unknown_slot | "
        "unknown_zone | bad_recurrence | emergency"
    )
    message: str = Field(description="English explanation: what clashes with what.")
    message_vi: str = Field(description="Vietnamese explanation, shown in the web UI.")


def in_quiet_hours(qh: QuietHours, local_dt: dt.datetime) -> bool:
    """True if the wall-clock time of ``local_dt`` is inside ``qh`` (start incl., end excl.).

    Pass a *local* datetime (naive or aware): only its wall-clock time is read.
    """
    t = local_dt.time().replace(tzinfo=None)
    if qh.start < qh.end:
        return qh.start <= t < qh.end
    return t >= qh.start or t < qh.end  # wraps midnight, e.g. 21:30–05:00


def airing_in_quiet(qh: QuietHours, start: dt.datetime, end: dt.datetime) -> bool:
    # The airing clashes if it starts in quiet hours or quiet hours begin while it plays.
    if in_quiet_hours(qh, start):
        return True
    qs = dt.datetime.combine(start.date(), qh.start, tzinfo=start.tzinfo)
    return any(start < q < end for q in (qs, qs + dt.timedelta(days=1)))


def check_item(
    programme: Programme,
    item: ProgrammeItem,
    zone_nodes: Mapping[str, Sequence[str]],
    horizon_days: int = 60,
    *,
    from_date: dt.date | None = None,
) -> list[Conflict]:
    """Conflicts adding ``item`` to ``programme`` would cause, over ``horizon_days`` local days
    from ``max(from_date, item.recurrence.start_date)``; ``from_date`` defaults to today (local)."""
    rec = item.recurrence
    if rec.end_date is not None and rec.end_date < rec.start_date:
        return [
            _c(
                "bad_recurrence",
                f"item {item.id!r}: end date {rec.end_date} is before start date {rec.start_date}",
                f"mục {item.id!r}: ngày kết thúc {rec.end_date} trước "
                f"ngày bắt đầu {rec.start_date}",
            )
        ]
    if item.priority == "emergency":
        return [
            _c(
                "emergency",
                f"item {item.id!r} is an emergency: it plays at once and is not scheduled",
                f"mục {item.id!r} là tin khẩn cấp: phát ngay, không xếp vào chương trình",
            )
        ]
    slot = programme.slot(item.slot_id) if item.slot_id is not None else None
    if item.slot_id is not None and slot is None:
        return [
            _c(
                "unknown_slot",
                f"item {item.id!r}: unknown slot {item.slot_id!r}",
                f"mục {item.id!r}: không có khung giờ {item.slot_id!r}",
            )
        ]
    out: list[Conflict] = []
    zones = list(item.zones) or ([] if item.nodes or slot is None else list(slot.zones))
    for z in zones:
        if z not in zone_nodes:
            out.append(
                _c(
                    "unknown_zone",
                    f"item {item.id!r}: unknown zone {z!r}",
                    f"mục {item.id!r}: không có khu vực {z!r}",
                )
            )

    tz = programme.tz
    first = max(from_date or dt.datetime.now(tz).date(), rec.start_date)
    last = first + dt.timedelta(days=horizon_days - 1)
    others = [i for i in programme.items if i.id != item.id]
    before = programme.model_copy(update={"items": others})
    after = programme.model_copy(update={"items": [*others, item]})
    w0 = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    w1 = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    occ_before = expand_items(before, w0, w1, zone_nodes, strict_zones=False)
    occ_after = expand_items(after, w0, w1, zone_nodes, strict_zones=False)

    if slot is not None:
        out.extend(_overflow(after, item, first, last))
    out.extend(_overlaps(occ_before, occ_after, item.id, tz))
    if programme.quiet_hours is not None:
        out.extend(_quiet(programme.quiet_hours, occ_before, occ_after, tz))
    return out


def _overflow(
    prog: Programme, item: ProgrammeItem, first: dt.date, last: dt.date
) -> list[Conflict]:
    slot = prog.slot(item.slot_id or "")
    assert slot is not None  # checked by the caller
    found: list[tuple[dt.date, float, list[str]]] = []
    for day in item.recurrence.dates(first, last):
        items = slot_items_on(prog, slot, day)
        if item not in items:
            continue
        total = sum(i.duration_s for i in items) + slot.gap_s * (len(items) - 1)
        if total > slot.max_length_s:
            found.append((day, total - slot.max_length_s, [i.id for i in items]))
    if not found:
        return []
    day, over, ids = found[0]
    more = len(found) - 1
    en_more = f" (and on {more} more date(s))" if more else ""
    vi_more = f" (và {more} ngày khác)" if more else ""
    return [
        _c(
            "slot_overflow",
            f"slot {slot.id!r} ({slot.name}) on {day} overflows by {over:.1f} s "
            f"(max {slot.max_length_s} s); items: {', '.join(ids)}{en_more}",
            f"khung giờ {slot.id!r} ({slot.name}) ngày {day:%d/%m/%Y} vượt {over:.1f} giây "
            f"(tối đa {slot.max_length_s} giây); các mục: {', '.join(ids)}{vi_more}",
        )
    ]


def _pairs(occs: list[Occurrence]) -> dict[tuple[str, str, str], tuple[Occurrence, Occurrence]]:
    """Overlapping airings per node, keyed (node, item a, item b), first occurrence kept."""
    by_node: dict[str, list[Occurrence]] = {}
    for o in occs:
        for n in o.node_ids:
            by_node.setdefault(n, []).append(o)
    out: dict[tuple[str, str, str], tuple[Occurrence, Occurrence]] = {}
    for node, lst in by_node.items():
        lst.sort(key=lambda o: o.start)
        for i, a in enumerate(lst):
            for b in lst[i + 1 :]:
                if b.start >= a.end:
                    break
                lo, hi = sorted((a.item_id, b.item_id))
                if lo != hi and (node, lo, hi) not in out:
                    out[(node, lo, hi)] = (a, b)
    return out


def _overlaps(
    before: list[Occurrence], after: list[Occurrence], item_id: str, tz: dt.tzinfo
) -> list[Conflict]:
    old = _pairs(before)
    out: list[Conflict] = []
    for (node, _, _), (a, b) in sorted(_pairs(after).items()):
        lo, hi = sorted((a.item_id, b.item_id))
        if (node, lo, hi) in old:
            continue
        mine, other = (a, b) if a.item_id == item_id else (b, a)
        when = max(a.start, b.start).astimezone(tz)
        out.append(
            _c(
                "overlap",
                f"item {mine.item_id!r} overlaps {other.item_id!r} ({other.title}) on node "
                f"{node!r} at {when:%Y-%m-%d %H:%M:%S}",
                f"mục {mine.item_id!r} trùng giờ với {other.item_id!r} ({other.title}) tại "
                f"điểm {node!r} lúc {when:%H:%M:%S %d/%m/%Y}",
            )
        )
    return out


def _quiet(
    qh: QuietHours, before: list[Occurrence], after: list[Occurrence], tz: dt.tzinfo
) -> list[Conflict]:
    old = {o.play_id: o.start for o in before}
    hits = [
        o
        for o in after
        if old.get(o.play_id) != o.start
        and airing_in_quiet(qh, o.start.astimezone(tz), o.end.astimezone(tz))
    ]
    out: list[Conflict] = []
    seen: set[str] = set()
    for o in hits:
        if o.item_id in seen:
            continue
        seen.add(o.item_id)
        n = sum(1 for h in hits if h.item_id == o.item_id) - 1
        local = o.start.astimezone(tz)
        window = f"{qh.start:%H:%M}–{qh.end:%H:%M}"
        out.append(
            _c(
                "quiet_hours",
                f"item {o.item_id!r} airs at {local:%Y-%m-%d %H:%M} during quiet hours "
                f"{window}" + (f" (and {n} more airing(s))" if n else ""),
                f"mục {o.item_id!r} phát lúc {local:%H:%M %d/%m/%Y} trong giờ yên tĩnh "
                f"{window}" + (f" (và {n} lần khác)" if n else ""),
            )
        )
    return out


def _c(code: str, message: str, message_vi: str) -> Conflict:
    return Conflict(code=code, message=message, message_vi=message_vi)
