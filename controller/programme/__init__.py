"""The commune's programme in the controller: the stored document, its airings (``store``),
editing the placed items (``edit``), making and changing slots, quiet hours and items
(``setup``) and every timed thing for the calendar (``timed``). The pure model and calendar
live in ``schedules``.
"""

from controller.programme.edit import (
    MoveRefusedError,
    NoSuchItemError,
    move_item,
    nodes_awaiting,
    remove_item,
)
from controller.programme.setup import (
    NOT_APPROVED,
    NoSuchSlotError,
    ProgrammeRefusedError,
    Refusal,
    remove_slot,
    repeatable,
    repeatable_bulletins,
    save_item,
    save_slot,
    set_quiet_hours,
    slot_refusals,
)
from controller.programme.store import (
    ItemConflictsError,
    add_item,
    build_item,
    item_conflicts,
    load,
    materialise,
    new_item_id,
    play_id,
    replace,
    save,
    zone_nodes,
)

__all__ = [
    "NOT_APPROVED",
    "ItemConflictsError",
    "MoveRefusedError",
    "NoSuchItemError",
    "NoSuchSlotError",
    "ProgrammeRefusedError",
    "Refusal",
    "add_item",
    "build_item",
    "item_conflicts",
    "load",
    "materialise",
    "move_item",
    "new_item_id",
    "nodes_awaiting",
    "play_id",
    "remove_item",
    "remove_slot",
    "repeatable",
    "repeatable_bulletins",
    "replace",
    "save",
    "save_item",
    "save_slot",
    "set_quiet_hours",
    "slot_refusals",
    "zone_nodes",
]
