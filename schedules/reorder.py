"""Moving an item up or down within its slot, as seen on one day (pure, no I/O).

Items in a slot play by priority first and by ``position`` within a priority (see
``expand.play_order``), so an item only changes places with a neighbour of its own priority.
The slot's order is one sequence over every day; on the day shown, the item lands directly
before (or after) the neighbour it passes, and positions are renumbered 0..n-1 in that order.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from schedules.expand import play_order, slot_items_on
from schedules.model import Programme

Refusal = Literal["unknown_item", "not_in_slot", "not_on_day", "at_edge", "priority"]


class MoveRefusedError(ValueError):
    """The move makes no sense as asked; ``code`` says why, for a translated message."""

    def __init__(self, code: Refusal, item_id: str) -> None:
        super().__init__(f"cannot move item {item_id!r}: {code}")
        self.code: Refusal = code


def move_in_slot(programme: Programme, item_id: str, day: dt.date, step: int) -> Programme:
    """The programme with ``item_id`` moved ``step`` places (-1 earlier, +1 later) among the
    items its slot plays on local ``day``; raises MoveRefusedError if it cannot move so."""
    item = next((i for i in programme.items if i.id == item_id), None)
    if item is None:
        raise MoveRefusedError("unknown_item", item_id)
    slot = programme.slot(item.slot_id) if item.slot_id is not None else None
    if slot is None:
        raise MoveRefusedError("not_in_slot", item_id)
    that_day = slot_items_on(programme, slot, day)
    if item not in that_day:
        raise MoveRefusedError("not_on_day", item_id)
    target = that_day.index(item) + step
    if step == 0 or not 0 <= target < len(that_day):
        raise MoveRefusedError("at_edge", item_id)
    passed = that_day[target]
    if passed.priority != item.priority:
        raise MoveRefusedError("priority", item_id)
    order = sorted((i for i in programme.items if i.slot_id == slot.id), key=play_order)
    order.remove(item)
    at = order.index(passed)
    order.insert(at if step < 0 else at + 1, item)
    positions = {i.id: n for n, i in enumerate(order)}
    items = [
        i.model_copy(update={"position": positions[i.id]}) if i.id in positions else i
        for i in programme.items
    ]
    return programme.model_copy(update={"items": items})
