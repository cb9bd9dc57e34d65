"""HTTP API for the programme: slots, quiet hours, items (checked for conflicts), airings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from controller import programme
from controller.api.deps import (
    ERRORS,
    ConfigDep,
    DbDep,
    DispatcherDep,
    ProgrammeEditorDep,
    UserDep,
)
from controller.broadcast.times import later
from controller.models import Bulletin, now
from schedules import (
    Occurrence,
    QuietHours,
    Recurrence,
    Slot,
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


@router.get("", responses=ERRORS)
def get_programme(db: DbDep, _user: UserDep) -> dict[str, Any]:
    with db.session() as s:
        return programme.load(s).model_dump(mode="json")


def _refused(exc: programme.ProgrammeRefusedError) -> JSONResponse:
    """409: what the change would break, each reason with its field; nothing was changed."""
    return JSONResponse(
        status_code=409,
        content={
            "detail": str(exc),
            "conflicts": [
                {"field": r.field, "message": r.message, "message_vi": r.message_vi}
                for r in exc.refusals
            ],
        },
    )


@router.put("/slots/{slot_id}", responses=ERRORS)
def put_slot(
    slot_id: str,
    slot: Slot,
    db: DbDep,
    config: ConfigDep,
    dispatcher: DispatcherDep,
    user: ProgrammeEditorDep,
) -> Any:
    """Add or change a slot; one that overlaps another on a shared zone, falls in quiet hours or
    no longer holds its items is a 409 with each reason, and nothing is changed."""
    if slot.id != slot_id:
        raise HTTPException(422, f"slot id {slot.id!r} does not match the URL's {slot_id!r}")
    grace = timedelta(seconds=config.late_grace_s)
    with db.session() as s:
        try:
            new = programme.save_slot(s, dispatcher, grace, user.username, slot)
        except programme.ProgrammeRefusedError as exc:
            return _refused(exc)
    return new.model_dump(mode="json")


@router.delete("/slots/{slot_id}", responses=ERRORS)
def delete_slot(
    slot_id: str, db: DbDep, config: ConfigDep, dispatcher: DispatcherDep, user: ProgrammeEditorDep
) -> Any:
    """Take a slot out; a slot still holding items is a 409 and stays."""
    grace = timedelta(seconds=config.late_grace_s)
    with db.session() as s:
        try:
            new = programme.remove_slot(s, dispatcher, grace, user.username, slot_id)
        except programme.NoSuchSlotError:
            raise HTTPException(404, f"no programme slot {slot_id}") from None
        except programme.ProgrammeRefusedError as exc:
            return _refused(exc)
    return new.model_dump(mode="json")


@router.put("/quiet-hours", responses=ERRORS)
def put_quiet_hours(
    quiet: Annotated[QuietHours | None, Body()],
    db: DbDep,
    config: ConfigDep,
    dispatcher: DispatcherDep,
    user: ProgrammeEditorDep,
) -> Any:
    """Quiet hours block everything but emergencies; ``null`` removes them. Quiet hours that
    would silence a slot or an item at its own time are a 409, and nothing is changed."""
    grace = timedelta(seconds=config.late_grace_s)
    with db.session() as s:
        try:
            new = programme.set_quiet_hours(s, dispatcher, grace, user.username, quiet)
        except programme.ProgrammeRefusedError as exc:
            return _refused(exc)
    return new.model_dump(mode="json")


@router.post("/items", status_code=201, responses=ERRORS)
def add_item(
    item_in: ItemIn,
    db: DbDep,
    config: ConfigDep,
    dispatcher: DispatcherDep,
    user: ProgrammeEditorDep,
) -> Any:
    """Place a bulletin; what it would clash with is a 409 listing each conflict, in English and
    Vietnamese, and nothing is changed."""
    with db.session() as s:
        bulletin = s.get(Bulletin, item_in.bulletin_id)
        if bulletin is None:
            raise HTTPException(422, f"unknown bulletin {item_in.bulletin_id}")
        if not programme.repeatable(s, bulletin):
            raise HTTPException(422, programme.NOT_APPROVED.message)
        try:
            item = programme.build_item(bulletin, **item_in.model_dump(exclude={"bulletin_id"}))
            programme.add_item(
                s, dispatcher, timedelta(seconds=config.late_grace_s), user.username, item
            )
        except ValidationError as exc:
            raise _refuse(exc) from None
        except programme.ItemConflictsError as exc:
            return JSONResponse(
                status_code=409,
                content={
                    "detail": str(exc),
                    "conflicts": [c.model_dump() for c in exc.conflicts],
                },
            )
    return item.model_dump(mode="json")


@router.put("/items/{item_id}", responses=ERRORS)
def change_item(
    item_id: str,
    item_in: ItemIn,
    db: DbDep,
    config: ConfigDep,
    dispatcher: DispatcherDep,
    user: ProgrammeEditorDep,
) -> Any:
    """Change a placed item (its bulletin, slot, dates, time, targets); checked as a new one."""
    with db.session() as s:
        if not any(i.id == item_id for i in programme.load(s).items):
            raise HTTPException(404, f"no programme item {item_id}")
        bulletin = s.get(Bulletin, item_in.bulletin_id)
        if bulletin is None:
            raise HTTPException(422, f"unknown bulletin {item_in.bulletin_id}")
        try:
            item = programme.build_item(
                bulletin, **item_in.model_dump(exclude={"bulletin_id"})
            ).model_copy(update={"id": item_id})
            programme.save_item(
                s, dispatcher, timedelta(seconds=config.late_grace_s), user.username, item
            )
        except ValidationError as exc:
            raise _refuse(exc) from None
        except programme.ProgrammeRefusedError as exc:
            return _refused(exc)
    return item.model_dump(mode="json")


@router.delete("/items/{item_id}", responses=ERRORS)
def remove_item(
    item_id: str, db: DbDep, config: ConfigDep, dispatcher: DispatcherDep, user: ProgrammeEditorDep
) -> dict[str, Any]:
    """Take an item out; its airings not yet started are cancelled on every node."""
    grace = timedelta(seconds=config.late_grace_s)
    with db.session() as s:
        try:
            told = programme.remove_item(s, dispatcher, grace, user.username, item_id)
        except programme.NoSuchItemError:
            raise HTTPException(404, f"no programme item {item_id}") from None
    return {"removed": item_id, "nodes_told": told}


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
        end = later(begin, timedelta(days=days), "from")
        found = expand(programme.load(s), begin, end, programme.zone_nodes(s))
    return [occ.model_copy(update={"play_id": programme.play_id(occ)}) for occ in found]
