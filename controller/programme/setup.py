"""Making, changing and removing the programme's slots, quiet hours and items, shared by the JSON
API and the web pages.

Each operation checks the whole change first and refuses it with every reason, each tied to the
form field it is about (``Refusal``), changing nothing; otherwise it stores the new programme,
re-materialises it (the nodes drop, re-time or receive airings) and audits it in the caller's
transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller import audit
from controller.delivery.dispatcher import Dispatcher
from controller.models import Alert, Bulletin
from controller.programme import store
from schedules import LOCAL, Conflict, Programme, ProgrammeItem, QuietHours, Slot, check_item
from schedules.slots import quiet_hours_conflicts, slot_overlaps, slot_quiet_conflict

# Which form field an item's conflict is about.
ITEM_FIELD = {
    "unknown_zone": "zones",
    "bad_recurrence": "until",
    "unknown_slot": "slot",
    "slot_overflow": "slot",
    "overlap": "at",
    "quiet_hours": "at",
    "emergency": "priority",
}


# Bulletins that may be placed in the programme: approved (sent, or placed in a slot on approval),
# and not an alert's recording, which airs at once and only as an alert.
REPEATABLE = ("sent", "approved")


def repeatable(s: Session, bulletin: Bulletin) -> bool:
    return (
        bulletin.status in REPEATABLE
        and bulletin.priority != "emergency"
        and s.scalar(select(Alert.id).where(Alert.bulletin_id == bulletin.id)) is None
    )


def repeatable_bulletins(s: Session, keep: str = "", limit: int = 200) -> list[Bulletin]:
    """Bulletins an approver may place, newest first, and ``keep`` (the one an item airs)."""
    query = (
        select(Bulletin)
        .where(
            (
                Bulletin.status.in_(REPEATABLE)
                & (Bulletin.priority != "emergency")
                & Bulletin.id.not_in(select(Alert.bulletin_id))
            )
            | (Bulletin.id == keep)
        )
        .order_by(Bulletin.created_at.desc())
        .limit(limit)
    )
    return list(s.scalars(query))


@dataclass(frozen=True)
class Refusal:
    """Why a change was refused, tied to the field it is about, in English and Vietnamese."""

    field: str
    message: str
    message_vi: str

    @classmethod
    def of(cls, field: str, conflict: Conflict) -> Refusal:
        return cls(field, conflict.message, conflict.message_vi)


class ProgrammeRefusedError(Exception):
    """The change would break the programme; nothing was changed."""

    def __init__(self, refusals: list[Refusal]) -> None:
        super().__init__("; ".join(r.message for r in refusals))
        self.refusals = refusals


NOT_APPROVED = Refusal(
    "bulletin",
    "only an approved bulletin, not an alert's, can be placed in the programme",
    "Chỉ đặt được bản tin đã duyệt (không phải tin khẩn cấp) vào chương trình.",
)


class NoSuchSlotError(LookupError):
    """No slot of that id (removed meanwhile, or never there)."""


def today() -> dt.date:
    return dt.datetime.now(LOCAL).date()


def _unknown_zones(zones: list[str], known: dict[str, list[str]]) -> list[Refusal]:
    return [
        Refusal("zones", f"unknown zone {z!r}", f"Không có khu vực «{z}»")
        for z in zones
        if z not in known
    ]


def _with_slot(current: Programme, slot: Slot) -> Programme:
    ids = [s.id for s in current.slots]
    slots = list(current.slots)
    if slot.id in ids:
        slots[ids.index(slot.id)] = slot  # keep its place in the list
    else:
        slots.append(slot)
    return current.model_copy(update={"slots": slots})


def slot_refusals(s: Session, slot: Slot) -> list[Refusal]:
    """Everything wrong with storing ``slot`` (new, or replacing the slot of its id)."""
    current = store.load(s)
    zone_nodes = store.zone_nodes(s)
    refusals = _unknown_zones(slot.zones, zone_nodes)
    refusals += [Refusal.of("start", c) for c in slot_overlaps(current, slot)]
    refusals += [Refusal.of("start", c) for c in slot_quiet_conflict(current, slot)]
    if refusals:
        return refusals
    changed = _with_slot(current, slot)
    seen: list[Conflict] = []
    for item in (i for i in changed.items if i.slot_id == slot.id):
        seen += [c for c in check_item(changed, item, zone_nodes) if c not in seen]
    # an item in the slot that no longer fits, or now clashes, is about the slot's times
    return [Refusal.of("end" if c.code == "slot_overflow" else "start", c) for c in seen]


def save_slot(
    s: Session, dispatcher: Dispatcher, grace: dt.timedelta, actor: str, slot: Slot
) -> Programme:
    """Add ``slot``, or change the slot of its id (its items move with it)."""
    if refusals := slot_refusals(s, slot):
        raise ProgrammeRefusedError(refusals)
    current = store.load(s)
    action = "programme.slot.change" if current.slot(slot.id) else "programme.slot.add"
    new = store.replace(s, dispatcher, grace, _with_slot(current, slot).model_dump(mode="json"))
    audit.record(s, actor, action, slot.id, slot=slot.model_dump(mode="json"))
    return new


def remove_slot(
    s: Session, dispatcher: Dispatcher, grace: dt.timedelta, actor: str, slot_id: str
) -> Programme:
    """Take a slot out; refused while items are placed in it (they would be lost with it)."""
    current = store.load(s)
    slot = current.slot(slot_id)
    if slot is None:
        raise NoSuchSlotError(slot_id)
    inside = [i for i in current.items if i.slot_id == slot_id]
    if inside:
        raise ProgrammeRefusedError(
            [
                Refusal(
                    "slot",
                    f"slot {slot.name!r} still holds {len(inside)} item(s): "
                    "remove or move them first",
                    f"Khung «{slot.name}» còn {len(inside)} tin: "
                    "hãy gỡ các tin đó trước khi xoá khung",
                )
            ]
        )
    document = current.model_dump(mode="json")
    document["slots"] = [x for x in document["slots"] if x["id"] != slot_id]
    new = store.replace(s, dispatcher, grace, document)
    audit.record(s, actor, "programme.slot.remove", slot_id, slot=slot.model_dump(mode="json"))
    return new


def set_quiet_hours(
    s: Session,
    dispatcher: Dispatcher,
    grace: dt.timedelta,
    actor: str,
    quiet: QuietHours | None,
) -> Programme:
    """Set quiet hours (``None`` lifts them); refused if they would silence a slot or an item
    still to air at its own time."""
    current = store.load(s)
    if quiet is not None and (found := quiet_hours_conflicts(current, quiet, today())):
        raise ProgrammeRefusedError([Refusal.of("quiet", c) for c in found])
    document = current.model_dump(mode="json")
    document["quiet_hours"] = quiet.model_dump(mode="json") if quiet else None
    new = store.replace(s, dispatcher, grace, document)
    audit.record(s, actor, "programme.quiet_hours", "", quiet=document["quiet_hours"])
    return new


def save_item(
    s: Session, dispatcher: Dispatcher, grace: dt.timedelta, actor: str, item: ProgrammeItem
) -> Programme:
    """Place ``item``, or change the item of its id (keeping its place in the list); its
    bulletin must be approved (``repeatable``)."""
    current = store.load(s)
    zone_nodes = store.zone_nodes(s)
    bulletin = s.get(Bulletin, item.bulletin_id)
    if bulletin is None or not repeatable(s, bulletin):
        raise ProgrammeRefusedError([NOT_APPROVED])
    refusals = _unknown_zones(list(item.zones), zone_nodes)
    refusals += [
        Refusal.of(ITEM_FIELD.get(c.code, "at"), c)
        for c in check_item(current, item, zone_nodes)
        if c.code != "unknown_zone"
    ]
    if refusals:
        raise ProgrammeRefusedError(refusals)
    document = current.model_dump(mode="json")
    ids = [i.id for i in current.items]
    if item.id in ids:
        document["items"][ids.index(item.id)] = item.model_dump(mode="json")
        action = "programme.change"
    else:
        document["items"].append(item.model_dump(mode="json"))
        action = "programme.add"
    new = store.replace(s, dispatcher, grace, document)
    audit.record(s, actor, action, item.id, item=item.model_dump(mode="json"))
    return new
