"""HTTP API for the programme: slots, quiet hours, items (checked for conflicts), airings."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller import audit, programme
from controller.deps import ERRORS, ConfigDep, DbDep, DispatcherDep, UserDep
from controller.dispatcher import Dispatcher
from controller.models import Bulletin, Delivery, now
from schedules import (
    Occurrence,
    Programme,
    ProgrammeItem,
    QuietHours,
    Recurrence,
    Slot,
    check_item,
    expand,
)

router = APIRouter(prefix="/api/v1/programme", tags=["programme"])


class ItemIn(BaseModel):
    """A bulletin placed in the programme; title and duration come from the bulletin."""

    bulletin_id: str
    priority: str = Field("normal", description="priority | normal | filler (not emergency)")
    slot_id: str | None = None
    position: int = 0
    recurrence: Recurrence
    zones: list[str] = Field(default_factory=list)
    nodes: list[str] = Field(default_factory=list)


def _refuse(exc: ValidationError | ValueError) -> HTTPException:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return HTTPException(422, f"{where}: {err['msg']}" if where else err["msg"])
    return HTTPException(422, str(exc))


def _store(s: Session, dispatcher: Dispatcher, grace_s: int, updated: dict[str, Any]) -> Programme:
    try:
        new = Programme.model_validate(updated)
    except ValidationError as exc:
        raise _refuse(exc) from None
    programme.save(s, new)
    s.flush()
    programme.materialise(s, dispatcher, timedelta(seconds=grace_s))
    return new


@router.get("", responses=ERRORS)
def get_programme(db: DbDep, _user: UserDep) -> dict[str, Any]:
    with db.session() as s:
        return programme.load(s).model_dump(mode="json")


@router.put("/slots/{slot_id}", responses=ERRORS)
def put_slot(
    slot_id: str,
    slot: Slot,
    db: DbDep,
    config: ConfigDep,
    dispatcher: DispatcherDep,
    user: UserDep,
) -> dict[str, Any]:
    if slot.id != slot_id:
        raise HTTPException(422, f"slot id {slot.id!r} does not match the URL's {slot_id!r}")
    with db.session() as s:
        doc = programme.load(s).model_dump(mode="json")
        doc["slots"] = [x for x in doc["slots"] if x["id"] != slot_id] + [
            slot.model_dump(mode="json")
        ]
        new = _store(s, dispatcher, config.late_grace_s, doc)
        audit.record(s, user.username, "programme.slot", slot_id, slot=slot.model_dump(mode="json"))
    dispatcher.kick()
    return new.model_dump(mode="json")


@router.put("/quiet-hours", responses=ERRORS)
def put_quiet_hours(
    quiet: Annotated[QuietHours | None, Body()],
    db: DbDep,
    config: ConfigDep,
    dispatcher: DispatcherDep,
    user: UserDep,
) -> dict[str, Any]:
    """Quiet hours block everything but emergencies; ``null`` removes them."""
    with db.session() as s:
        doc = programme.load(s).model_dump(mode="json")
        doc["quiet_hours"] = quiet.model_dump(mode="json") if quiet else None
        new = _store(s, dispatcher, config.late_grace_s, doc)
        audit.record(s, user.username, "programme.quiet_hours", "", quiet=doc["quiet_hours"])
    return new.model_dump(mode="json")


@router.post("/items", status_code=201, responses=ERRORS)
def add_item(
    item_in: ItemIn, db: DbDep, config: ConfigDep, dispatcher: DispatcherDep, user: UserDep
) -> Any:
    """Place a bulletin; what it would clash with is a 409 listing each conflict, in English and
    Vietnamese, and nothing is changed."""
    with db.session() as s:
        bulletin = s.get(Bulletin, item_in.bulletin_id)
        if bulletin is None:
            raise HTTPException(422, f"unknown bulletin {item_in.bulletin_id}")
        try:
            item = ProgrammeItem(
                id=uuid.uuid4().hex[:12],
                title=bulletin.title,
                duration_s=bulletin.audio.duration_s,
                **item_in.model_dump(),
            )
        except ValidationError as exc:
            raise _refuse(exc) from None
        current = programme.load(s)
        conflicts = check_item(current, item, programme.zone_nodes(s))
        if conflicts:
            return JSONResponse(
                status_code=409,
                content={
                    "detail": "; ".join(c.message for c in conflicts),
                    "conflicts": [c.model_dump() for c in conflicts],
                },
            )
        doc = current.model_dump(mode="json")
        doc["items"].append(item.model_dump(mode="json"))
        _store(s, dispatcher, config.late_grace_s, doc)
        audit.record(s, user.username, "programme.add", item.id, item=item.model_dump(mode="json"))
    dispatcher.kick()
    return item.model_dump(mode="json")


@router.delete("/items/{item_id}", responses=ERRORS)
def remove_item(
    item_id: str, db: DbDep, config: ConfigDep, dispatcher: DispatcherDep, user: UserDep
) -> dict[str, Any]:
    """Take an item out; its airings not yet started are cancelled on every node."""
    with db.session() as s:
        current = programme.load(s)
        if not any(i.id == item_id for i in current.items):
            raise HTTPException(404, f"no programme item {item_id}")
        doc = current.model_dump(mode="json")
        doc["items"] = [i for i in doc["items"] if i["id"] != item_id]
        told = _nodes_awaiting(s, item_id)
        _store(s, dispatcher, config.late_grace_s, doc)  # cancels its airings on every node
        audit.record(s, user.username, "programme.remove", item_id, nodes=told)
    dispatcher.kick()
    return {"removed": item_id, "nodes_told": told}


def _nodes_awaiting(s: Session, item_id: str) -> list[str]:
    """Nodes holding an airing of the item that has not started yet."""
    return sorted(
        s.scalars(
            select(Delivery.node_id)
            .distinct()
            .where(
                Delivery.play_id.startswith(f"p-{item_id}.", autoescape=True),
                Delivery.status.in_(("queued", "acknowledged", "received", "ready")),
            )
        )
    )


@router.get("/airings", responses=ERRORS)
def airings(
    db: DbDep,
    _user: UserDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    days: Annotated[int, Query(ge=1, le=31)] = 7,
) -> list[Occurrence]:
    """What will play where: every airing from ``from`` (default now) for ``days`` days."""
    begin = start or now()
    if begin.tzinfo is None:
        raise HTTPException(422, "from must carry a time zone, e.g. 2026-11-24T00:00:00+07:00")
    with db.session() as s:
        found = expand(
            programme.load(s), begin, begin + timedelta(days=days), programme.zone_nodes(s)
        )
    return [occ.model_copy(update={"play_id": programme.play_id(occ)}) for occ in found]
