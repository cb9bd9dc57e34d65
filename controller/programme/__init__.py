"""The commune's programme in the controller: the stored document, its airings (``store``) and
editing the placed items (``edit``). The pure model and calendar live in ``schedules``.
"""

from controller.programme.edit import (
    MoveRefusedError,
    NoSuchItemError,
    move_item,
    nodes_awaiting,
    remove_item,
)
from controller.programme.store import (
    ItemConflictsError,
    add_item,
    build_item,
    item_conflicts,
    load,
    materialise,
    play_id,
    replace,
    save,
    zone_nodes,
)

__all__ = [
    "ItemConflictsError",
    "MoveRefusedError",
    "NoSuchItemError",
    "add_item",
    "build_item",
    "item_conflicts",
    "load",
    "materialise",
    "move_item",
    "nodes_awaiting",
    "play_id",
    "remove_item",
    "replace",
    "save",
    "zone_nodes",
]
