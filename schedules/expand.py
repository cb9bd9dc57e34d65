"""Materialise a programme into airings (``Occurrence``) over a time window.

Occurrence times are timezone-aware datetimes in **UTC** (convert with ``.astimezone(tz)`` for
display). Play ids are ``{item_id}.{YYYYMMDD}`` on the *local* airing date: an item airs at most
once per local date (one slot or one ``at`` time), so the id is unique per airing, and it does
not change when an item moves within its slot, so re-sending a window is idempotent on the node.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from protocol.messages import Priority
from schedules.model import PRIORITY_RANK, Programme, ProgrammeItem, Slot

ZoneNodes = Mapping[str, Sequence[str]]


class Occurrence(BaseModel):
    """One airing of one item on a set of nodes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    play_id: str = Field(description="Deterministic key of this airing: '{item_id}.{YYYYMMDD}'.")
    item_id: str = Field(description="The programme item.")
    bulletin_id: str = Field(description="The bulletin (audio) to play.")
    title: str = Field(description="Title of the item.")
    priority: Priority = Field(description="Priority of the item.")
    start: AwareDatetime = Field(description="Start, timezone-aware, in UTC.")
    duration_s: float = Field(description="Length, seconds.")
    node_ids: tuple[str, ...] = Field(description="Nodes that play it, sorted, unique.")
    slot_id: str | None = Field(default=None, description="Slot it airs in, if any.")

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.duration_s)


def expand(
    programme: Programme, start: dt.datetime, end: dt.datetime, zone_nodes: ZoneNodes
) -> list[Occurrence]:
    """Every airing starting in [start, end), sorted by start then play id.

    ``start``/``end`` must be aware. An unknown zone code raises ValueError (a zone that
    vanished must not silently drop an airing). Emergency items are skipped: they are not
    programme items (``Programme`` rejects them; this guards models built without validation).
    """
    return expand_items(programme, start, end, zone_nodes, strict_zones=True)


def expand_items(
    programme: Programme,
    start: dt.datetime,
    end: dt.datetime,
    zone_nodes: ZoneNodes,
    *,
    strict_zones: bool,
) -> list[Occurrence]:
    """``expand`` with a switch: ``strict_zones=False`` resolves unknown zones to no nodes
    (used by the conflict checker, which reports unknown zones itself)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("expand: start and end must be timezone-aware datetimes")
    tz = programme.tz
    # One day of margin before: a late slot's items may spill past local midnight.
    first = start.astimezone(tz).date() - dt.timedelta(days=1)
    last = end.astimezone(tz).date()
    out: list[Occurrence] = []
    day = first
    while day <= last:
        out.extend(_day(programme, day, zone_nodes, strict_zones))
        day += dt.timedelta(days=1)
    kept = [o for o in out if start <= o.start < end]
    return sorted(kept, key=lambda o: (o.start, o.play_id))


def slot_items_on(programme: Programme, slot: Slot, day: dt.date) -> list[ProgrammeItem]:
    """Items airing in ``slot`` on local ``day``, in play order: priority, normal, filler,
    each by position (then id, so ties are still deterministic)."""
    if day.weekday() not in slot.weekdays:
        return []
    items = [
        i
        for i in programme.items
        if i.slot_id == slot.id and i.priority != "emergency" and i.recurrence.occurs_on(day)
    ]
    return sorted(items, key=play_order)


def play_order(item: ProgrammeItem) -> tuple[int, int, str]:
    """Sort key of items within a slot: priority first, then position, then id."""
    return (PRIORITY_RANK[item.priority], item.position, item.id)


def _day(
    programme: Programme, day: dt.date, zone_nodes: ZoneNodes, strict: bool
) -> list[Occurrence]:
    tz = programme.tz
    out: list[Occurrence] = []
    for slot in programme.slots:
        at = dt.datetime.combine(day, slot.start, tzinfo=tz)
        for item in slot_items_on(programme, slot, day):
            zones = item.zones if (item.zones or item.nodes) else slot.zones
            out.append(_occ(item, day, at, _nodes(zones, item.nodes, zone_nodes, strict), slot.id))
            at += dt.timedelta(seconds=item.duration_s + slot.gap_s)
    for item in programme.items:
        rec, when = item.recurrence, item.recurrence.at
        if item.slot_id is not None or when is None or item.priority == "emergency":
            continue
        if rec.occurs_on(day):
            at = dt.datetime.combine(day, when, tzinfo=tz)
            nodes = _nodes(item.zones, item.nodes, zone_nodes, strict)
            out.append(_occ(item, day, at, nodes, None))
    return out


def _occ(
    item: ProgrammeItem, day: dt.date, local: dt.datetime, nodes: tuple[str, ...], slot: str | None
) -> Occurrence:
    return Occurrence(
        play_id=f"{item.id}.{day:%Y%m%d}",
        item_id=item.id,
        bulletin_id=item.bulletin_id,
        title=item.title,
        priority=item.priority,
        start=local.astimezone(dt.UTC),
        duration_s=item.duration_s,
        node_ids=nodes,
        slot_id=slot,
    )


def _nodes(
    zones: Sequence[str], nodes: Sequence[str], zone_nodes: ZoneNodes, strict: bool
) -> tuple[str, ...]:
    found: set[str] = set(nodes)
    for z in zones:
        if z not in zone_nodes:
            if strict:
                raise ValueError(f"unknown zone {z!r} (known: {sorted(zone_nodes)})")
            continue
        found.update(zone_nodes[z])
    return tuple(sorted(found))
