"""Repeating an approved bulletin from the app: on chosen days, in a slot or at its own time,
until an end date; made and changed by approvers and admins, checked like any programme item."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from controller import programme
from controller.api.deps import ConfigDep, DbDep, DispatcherDep
from controller.config import ControllerConfig
from controller.db import Database
from controller.delivery.dispatcher import Dispatcher
from controller.models import Bulletin
from controller.web import request_words
from controller.web.deps import Viewer
from controller.web.pages_programme import grace
from controller.web.pages_programme_setup import EDITOR, EDITOR_POST, error_texts, refused
from controller.web.programme_forms import ItemForm, item_from_form, item_values
from controller.web.render import page, translate_in
from schedules import LOCAL, Programme

router = APIRouter(include_in_schema=False)


def _item_form(
    request: Request,
    viewer: Viewer,
    db: Database,
    *,
    item_id: str | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with db.session() as s:
        prog: Programme = programme.load(s)
        choices = [
            (b.id, b.title, b.audio.duration_s)
            for b in programme.repeatable_bulletins(s, values.get("bulletin", ""))
        ]
        zones = request_words.zone_choices(s)
        slots = request_words.slot_choices(s)
    return page(
        request,
        viewer,
        "programme/item_form.html",
        status_code=status_code,
        item_id=item_id,
        values=values,
        errors=errors or {},
        bulletins=choices,
        zones=zones,
        slots=slots,
        has_slots=bool(prog.slots),
    )


def _today() -> str:
    return datetime.now(LOCAL).date().isoformat()


@router.get("/programme/repeats/new")
def new_item(request: Request, db: DbDep, viewer: EDITOR) -> Response:
    values = {
        "bulletin": "",
        "place": "slot",
        "slot": "",
        "at": "",
        "repeat": "daily",
        "date": _today(),
        "weekdays": [],
        "month_days": "",
        "until": "",
        "zones": [],
        "priority": "normal",
    }
    return _item_form(request, viewer, db, item_id=None, values=values)


@router.get("/programme/repeats/{item_id}")
def edit_item(request: Request, db: DbDep, viewer: EDITOR, item_id: str) -> Response:
    with db.session() as s:
        item = next((i for i in programme.load(s).items if i.id == item_id), None)
    if item is None:
        raise HTTPException(404, translate_in(viewer.lang, "programme.error.unknown_item"))
    return _item_form(request, viewer, db, item_id=item_id, values=item_values(item))


def _save_item(
    request: Request,
    viewer: Viewer,
    db: Database,
    *,
    config: ControllerConfig,
    dispatcher: Dispatcher,
    form: ItemForm,
    item_id: str | None,
) -> Response:
    values = {
        "bulletin": form.bulletin,
        "place": form.place,
        "slot": form.slot,
        "at": form.at,
        "repeat": form.repeat,
        "date": form.date,
        "weekdays": list(form.weekdays),
        "month_days": form.month_days,
        "until": form.until,
        "zones": list(form.zones),
        "priority": form.priority,
    }
    refusals: list[programme.Refusal] = []
    with db.session() as s:
        current = programme.load(s)
        if item_id and not any(i.id == item_id for i in current.items):
            raise HTTPException(404, translate_in(viewer.lang, "programme.error.unknown_item"))
        # an unapproved bulletin is refused by the programme, by the field
        bulletin = s.get(Bulletin, form.bulletin) if form.bulletin else None
        new_id = item_id or programme.new_item_id()
        item, errors = item_from_form(form, new_id, bulletin)
        if item is not None:
            save = partial(programme.save_item, s, dispatcher, grace(config), viewer.user.username)
            refusals = refused(s, partial(save, item))
    if errors or refusals:
        return _item_form(
            request,
            viewer,
            db,
            item_id=item_id,
            values=values,
            errors=error_texts(viewer, errors, refusals),
            status_code=422 if errors else 409,
        )
    return RedirectResponse("/programme/setup?done=item_saved#repeats", status_code=303)


@router.post("/programme/repeats")
@router.post("/programme/repeats/{item_id}")
def post_item(
    request: Request,
    *,
    config: ConfigDep,
    db: DbDep,
    dispatcher: DispatcherDep,
    viewer: EDITOR_POST,
    item_id: str | None = None,  # a new item without one
    bulletin: Annotated[str, Form(max_length=40)] = "",
    place: Annotated[str, Form(max_length=8)] = "slot",
    slot: Annotated[str, Form(max_length=80)] = "",
    at: Annotated[str, Form(max_length=8)] = "",
    repeat: Annotated[str, Form(max_length=10)] = "daily",
    date: Annotated[str, Form(max_length=10)] = "",
    weekdays: Annotated[list[str] | None, Form()] = None,
    until: Annotated[str, Form(max_length=10)] = "",
    zones: Annotated[list[str] | None, Form()] = None,
    priority: Annotated[str, Form(max_length=10)] = "normal",
    month_days: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    days, places = tuple(weekdays or ()), tuple(zones or ())
    form = ItemForm(
        bulletin, place, slot, at, repeat, date, days, until, places, priority, month_days
    )
    return _save_item(
        request, viewer, db, config=config, dispatcher=dispatcher, form=form, item_id=item_id
    )
