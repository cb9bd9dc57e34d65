"""The programme pages: today and the coming week slot by slot; move an item up or down in its
slot and take an item out (after a confirmation), as plain form posts that work without JS."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from controller import programme
from controller.api.deps import ConfigDep, DbDep, DispatcherDep
from controller.config import ControllerConfig
from controller.db import Database
from controller.web.deps import Viewer, allowed
from controller.web.programme_view import (
    LIVE_GROUPS,
    Places,
    day_blocks,
    day_label,
    recurrence_text,
    week,
)
from controller.web.render import page, translate_in
from schedules import LAST_DATE, LOCAL, Conflict

router = APIRouter(include_in_schema=False)
STEPS = {"up": -1, "down": 1}
DONE = ("moved", "removed")


FIRST_DAY = dt.date.min + dt.timedelta(days=1)  # its midnight in UTC is still a date


def today() -> dt.date:
    return dt.datetime.now(LOCAL).date()


def parse_day(text: str | None) -> dt.date:
    """The day asked for, or today when it is missing, not a date, or one whose days around it
    the calendar cannot hold."""
    try:
        day = dt.date.fromisoformat(text) if text else today()
    except ValueError:
        return today()
    return day if FIRST_DAY <= day <= LAST_DATE else today()


def grace(config: ControllerConfig) -> dt.timedelta:
    """How late an airing may still start: what re-materialising keeps and cancels."""
    return dt.timedelta(seconds=config.late_grace_s)


def show(
    request: Request,
    viewer: Viewer,
    db: Database,
    *,
    day: dt.date,
    whole_week: bool = False,
    status_code: int = 200,
    **context: Any,
) -> Response:
    t = partial(translate_in, viewer.lang)
    first = today()
    days = week(first)
    with db.session() as s:
        prog = programme.load(s)
        places = Places.load(s)
        shown = days if whole_week else [day]
        plans = [(d, day_label(d, first, t), day_blocks(s, prog, places, d, t)) for d in shown]
    on_page = {a.occ.item_id for _d, _l, blocks in plans for b in blocks for a in b.airings}
    if context.get("error_item") not in on_page:
        # refused for an item this page does not show (gone, or not on that day): the error
        # goes at the top instead of next to an item that is not there, never nowhere
        context["error_item"] = ""
    return page(
        request,
        viewer,
        "programme/index.html",
        status_code=status_code,
        tabs=[(d, day_label(d, first, t)) for d in days],
        day=day,
        whole_week=whole_week,
        plans=plans,
        live_groups=list(LIVE_GROUPS),
        editable=viewer.can("programme.edit"),
        **context,
    )


@router.get("/programme")
def programme_page(
    request: Request,
    *,
    db: DbDep,
    viewer: Annotated[Viewer, allowed("view")],
    day: str | None = None,
    view: str | None = None,
    done: str | None = None,
) -> Response:
    return show(
        request,
        viewer,
        db,
        day=parse_day(day),
        whole_week=view == "week",
        done=done if done in DONE else None,
    )


@router.post("/programme/items/{item_id}/move")
def move(
    request: Request,
    *,
    config: ConfigDep,
    db: DbDep,
    dispatcher: DispatcherDep,
    item_id: str,
    viewer: Annotated[Viewer, allowed("programme.edit", post=True)],
    direction: Annotated[Literal["up", "down"], Form()],
    day: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    when = parse_day(day)
    with db.session() as s:
        try:
            conflicts = programme.move_item(
                s,
                dispatcher,
                grace(config),
                viewer.user.username,
                item_id,
                day=when,
                step=STEPS[direction],
            )
        except programme.MoveRefusedError as exc:
            return refused(request, viewer, db, when, item_id, error=f"programme.error.{exc.code}")
        if conflicts:  # nothing was stored
            return refused(request, viewer, db, when, item_id, conflicts=conflicts)
    return RedirectResponse(
        f"/programme?day={when.isoformat()}&done=moved#item-{item_id}", status_code=303
    )


def refused(
    request: Request,
    viewer: Viewer,
    db: Database,
    day: dt.date,
    item_id: str,
    *,
    error: str = "programme.error.conflict",
    conflicts: list[Conflict] | None = None,
) -> Response:
    """The day again, with why next to the item; 409: the programme is as it was."""
    said = [c.message_vi if viewer.lang == "vi" else c.message for c in conflicts or []]
    return show(
        request, viewer, db, day=day, status_code=409, error=error, error_item=item_id, reasons=said
    )


@router.get("/programme/items/{item_id}/remove")
def confirm_removal(
    request: Request,
    db: DbDep,
    item_id: str,
    viewer: Annotated[Viewer, allowed("programme.edit")],
    day: str | None = None,
) -> Response:
    t = partial(translate_in, viewer.lang)
    with db.session() as s:
        item = next((i for i in programme.load(s).items if i.id == item_id), None)
        if item is None:
            raise HTTPException(404, t("programme.error.unknown_item"))
        waiting = programme.nodes_awaiting(s, item_id)
    return page(
        request,
        viewer,
        "programme/remove.html",
        item=item,
        day=parse_day(day),
        how_often=recurrence_text(item.recurrence, t),
        waiting=len(waiting),
    )


@router.post("/programme/items/{item_id}/remove")
def remove(
    request: Request,
    *,
    config: ConfigDep,
    db: DbDep,
    dispatcher: DispatcherDep,
    item_id: str,
    viewer: Annotated[Viewer, allowed("programme.edit", post=True)],
    day: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    when = parse_day(day)
    with db.session() as s:
        try:
            programme.remove_item(s, dispatcher, grace(config), viewer.user.username, item_id)
        except programme.NoSuchItemError:
            return show(
                request,
                viewer,
                db,
                day=when,
                status_code=404,
                error="programme.error.unknown_item",
                error_item="",
            )
    return RedirectResponse(f"/programme?day={when.isoformat()}&done=removed", status_code=303)
