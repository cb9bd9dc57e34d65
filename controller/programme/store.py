"""The programme in the controller: stored as one document, checked, and carried out.

``materialise`` turns the next 48 hours of the programme into signed play commands for every
node, ahead of time, so nodes play from their own copy even if the link is down at air time.
Play ids are deterministic (``<item>.<YYYYMMDD>``), so running it again sends nothing twice.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller import audit
from controller.delivery.dispatcher import Dispatcher
from controller.delivery.state import WAITING
from controller.models import Bulletin, Delivery, Node, ProgrammeDocument, Zone, now
from schedules import LOCAL, Conflict, Occurrence, Programme, ProgrammeItem, check_item, expand

HORIZON = timedelta(hours=48)


def load(s: Session) -> Programme:
    row = s.get(ProgrammeDocument, 1)
    return Programme.model_validate(row.document) if row else Programme()


def save(s: Session, programme: Programme) -> None:
    row = s.get(ProgrammeDocument, 1)
    document = programme.model_dump(mode="json")
    if row is None:
        s.add(ProgrammeDocument(id=1, document=document))
    else:
        row.document = document
        row.updated_at = now()


class ItemConflictsError(Exception):
    """The item would clash with the programme; nothing was changed."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        super().__init__("; ".join(c.message for c in conflicts))
        self.conflicts = conflicts


def replace(
    s: Session, dispatcher: Dispatcher, grace: timedelta, document: dict[str, Any]
) -> Programme:
    """Validate and save a whole new programme, then queue (or cancel) what it changes on the
    nodes; raises pydantic's ValidationError for an invalid document, changing nothing."""
    new = Programme.model_validate(document)
    save(s, new)
    s.flush()
    materialise(s, dispatcher, grace)
    return new


def new_item_id() -> str:
    return uuid.uuid4().hex[:12]


def build_item(bulletin: Bulletin, **fields: Any) -> ProgrammeItem:
    """A programme item airing ``bulletin`` (title and length from it); ``fields`` are the
    other ``ProgrammeItem`` fields. Raises ValidationError for malformed fields."""
    return ProgrammeItem(
        id=new_item_id(),
        bulletin_id=bulletin.id,
        title=bulletin.title,
        duration_s=bulletin.audio.duration_s,
        **fields,
    )


def item_conflicts(s: Session, item: ProgrammeItem) -> list[Conflict]:
    return check_item(load(s), item, zone_nodes(s))


def add_item(
    s: Session, dispatcher: Dispatcher, grace: timedelta, actor: str, item: ProgrammeItem
) -> None:
    """Place ``item`` if it clashes with nothing (else ItemConflictsError), audited."""
    current = load(s)
    if conflicts := check_item(current, item, zone_nodes(s)):
        raise ItemConflictsError(conflicts)
    document = current.model_dump(mode="json")
    document["items"].append(item.model_dump(mode="json"))
    replace(s, dispatcher, grace, document)
    audit.record(s, actor, "programme.add", item.id, item=item.model_dump(mode="json"))


def zone_nodes(s: Session) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {z.code: [] for z in s.scalars(select(Zone))}
    for node_id, code in s.execute(select(Node.id, Zone.code).join(Zone, Node.zone_id == Zone.id)):
        result[code].append(node_id)
    return result


def play_id(occ: Occurrence) -> str:
    """``p-<item>.<YYYYMMDD>.<HHMMSS>``: the airing's local start is part of its name, so an
    airing that moves (an item placed before it in its slot) is a new play, and the old one is
    cancelled rather than silently kept at its old time on the nodes."""
    return f"p-{occ.play_id}.{occ.start.astimezone(LOCAL):%H%M%S}"


def materialise(s: Session, dispatcher: Dispatcher, grace: timedelta) -> int:
    """Queue every airing of the next 48 hours not yet queued, and cancel queued airings the
    programme no longer has; returns how many plays were queued."""
    programme = load(s)
    start = now()
    airings = expand(programme, start - grace, start + HORIZON, zone_nodes(s))
    wanted = {(play_id(occ), n) for occ in airings for n in occ.node_ids}
    open_rows = s.scalars(
        select(Delivery).where(
            Delivery.play_id.startswith("p-"),
            Delivery.status.in_(WAITING),
        )
    ).all()
    stale = [
        d
        for d in open_rows
        if (d.play_id, d.node_id) not in wanted
        and d.valid_until is not None
        and d.valid_until >= start  # still within its window (its start + the grace)
    ]
    if stale:
        dispatcher.queue_cancel(s, stale, "no longer in the programme")
        for d in stale:
            d.status, d.reason = "cancelled", "no longer in the programme"
    existing = {
        (row.play_id, row.node_id)
        for row in s.execute(
            select(Delivery.play_id, Delivery.node_id).where(
                Delivery.play_id.in_([play_id(occ) for occ in airings])
            )
        )
    }
    queued = 0
    for occ in airings:
        bulletin = s.get(Bulletin, occ.bulletin_id)
        if bulletin is None:
            continue  # removed since; the item is dropped from the programme with it
        pid = play_id(occ)
        nodes = [n for n in occ.node_ids if (pid, n) not in existing]
        if not nodes:
            continue
        slot = programme.slot(occ.slot_id) if occ.slot_id else None
        window_end = occ.end + grace
        if slot is not None:
            local = occ.start.astimezone(programme.tz)
            slot_start = local.replace(
                hour=slot.start.hour,
                minute=slot.start.minute,
                second=slot.start.second,
                microsecond=0,
            )
            if slot_start > local:  # a slot that ran past midnight started the day before
                slot_start -= timedelta(days=1)
            window_end = slot_start + timedelta(seconds=slot.max_length_s)
        dispatcher.queue_play(
            s,
            bulletin,
            nodes,
            play_id=pid,
            play_at=occ.start,
            valid_until=occ.start + grace,
            window_end=max(window_end, occ.end),
        )
        queued += len(nodes)
    return queued
