"""Editing the placed items of the programme, shared by the JSON API and the web pages:
take an item out, move it within its slot. Each change is stored, re-materialised (so the
nodes drop or re-time their airings) and audited in the caller's transaction; the dispatcher
sends the commands once that commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller import audit
from controller.delivery.dispatcher import Dispatcher
from controller.delivery.state import WAITING
from controller.models import Delivery
from controller.programme import store as programme
from schedules import Conflict, check_item
from schedules.reorder import MoveRefusedError, move_in_slot

__all__ = ["MoveRefusedError", "NoSuchItemError", "move_item", "nodes_awaiting", "remove_item"]


class NoSuchItemError(LookupError):
    """No item of that id in the programme (removed meanwhile, or never there)."""


def remove_item(
    s: Session, dispatcher: Dispatcher, grace: dt.timedelta, actor: str, item_id: str
) -> list[str]:
    """Take an item out; its airings not yet started are cancelled on every node. Returns the
    nodes told to drop an airing."""
    current = programme.load(s)
    if not any(i.id == item_id for i in current.items):
        raise NoSuchItemError(item_id)
    document = current.model_dump(mode="json")
    document["items"] = [i for i in document["items"] if i["id"] != item_id]
    told = nodes_awaiting(s, item_id)
    programme.replace(s, dispatcher, grace, document)  # cancels its airings on every node
    audit.record(s, actor, "programme.remove", item_id, nodes=told)
    return told


def move_item(
    s: Session,
    dispatcher: Dispatcher,
    grace: dt.timedelta,
    actor: str,
    item_id: str,
    *,
    day: dt.date,
    step: int,
) -> list[Conflict]:
    """Move an item ``step`` places within its slot as played on local ``day`` (see
    ``schedules.reorder``). The items after it start at new times, so their airings are
    re-sent under new play ids and the old ones cancelled. What the new order would clash
    with (an airing pushed into quiet hours or onto another item, an overflowing slot) is
    returned and nothing is changed; MoveRefusedError if the move makes no sense."""
    current = programme.load(s)
    moved = move_in_slot(current, item_id, day, step)
    zone_nodes = programme.zone_nodes(s)
    slot_id = next(i.slot_id for i in moved.items if i.id == item_id)
    in_slot = [i for i in moved.items if i.slot_id == slot_id]
    conflicts: list[Conflict] = []
    for each in in_slot:
        conflicts += [c for c in check_item(moved, each, zone_nodes) if c not in conflicts]
    if conflicts:
        return conflicts
    programme.replace(s, dispatcher, grace, moved.model_dump(mode="json"))
    order = [i.id for i in sorted(in_slot, key=lambda i: i.position)]
    audit.record(
        s,
        actor,
        "programme.reorder",
        item_id,
        slot=slot_id,
        day=day.isoformat(),
        step=step,
        order=order,
    )
    return []


def nodes_awaiting(s: Session, item_id: str) -> list[str]:
    """Nodes holding an airing of the item that has not started yet."""
    return sorted(
        s.scalars(
            select(Delivery.node_id)
            .distinct()
            .where(
                Delivery.play_id.startswith(f"p-{item_id}.", autoescape=True),
                Delivery.status.in_(WAITING),
            )
        )
    )
