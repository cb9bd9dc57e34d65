"""The relays page (tiếp âm): the stations relayed on schedule, how the last window went, and
forms to add one, change one or take one out (approvers and admins: permission ``relay``).
Each refusal shows beside the field it is about, with what was typed kept."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from controller.api.deps import ConfigDep, DbDep
from controller.config import ControllerConfig
from controller.db import Database
from controller.errors import DomainError, NotFoundError
from controller.models import Relay, Zone
from controller.relay import report, store
from controller.web.deps import Viewer, allowed
from controller.web.programme_view import recurrence_text
from controller.web.relay_form import (
    RelayForm,
    field_of,
    form_values,
    new_relay_id,
    relay_from_form,
    relay_values,
    relay_where,
)
from controller.web.render import page, translate_in
from controller.web.repeat_form import RepeatForm
from schedules import LOCAL, RelayItem

router = APIRouter(include_in_schema=False)
DONE = ("added", "changed", "removed")
EDITOR = Annotated[Viewer, allowed("relay")]
EDITOR_POST = Annotated[Viewer, allowed("relay", post=True)]


def _zones(db: Database) -> dict[str, str]:
    with db.session() as s:
        return {z.code: z.name for z in s.scalars(select(Zone).order_by(Zone.name))}


def _blank() -> dict[str, Any]:
    today = dt.datetime.now(LOCAL).date().isoformat()
    return {
        **dict.fromkeys(("title", "url", "month_days", "until"), ""),
        **{"start": "06:00", "end": "06:30", "repeat": "daily", "date": today},
        **{"weekdays": [], "zones": [], "nodes": []},
    }


def show(
    request: Request, viewer: Viewer, db: Database, *, status_code: int = 200, **context: Any
) -> Response:
    t = partial(translate_in, viewer.lang)
    zones = _zones(db)
    rows = []
    with db.session() as s:
        for row in store.all_relays(s):
            item = store.to_item(row)
            runs = store.runs(s, item.id, limit=1)
            rows.append(
                {
                    "item": item,
                    "when": relay_values(item),
                    "how_often": recurrence_text(item.recurrence, t),
                    "until": f"{item.recurrence.end_date:%d/%m/%Y}"
                    if item.recurrence.end_date and item.recurrence.kind != "once"
                    else "",
                    "where": relay_where(item, zones, t),
                    "last": report.run_report(s, runs[0]) if runs else None,
                }
            )
    context.setdefault("values", _blank())
    context.setdefault("errors", {})
    return page(
        request,
        viewer,
        "programme/relays.html",
        status_code=status_code,
        relays=rows,
        zones=zones,
        editable=viewer.can("relay"),
        **context,
    )


def _edit_page(
    request: Request,
    viewer: Viewer,
    db: Database,
    *,
    relay_id: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    return page(
        request,
        viewer,
        "programme/relay_form.html",
        status_code=status_code,
        relay_id=relay_id,
        zones=_zones(db),
        **context,
    )


@router.get("/programme/relays")
def relays_page(
    request: Request,
    db: DbDep,
    viewer: Annotated[Viewer, allowed("view")],
    done: str | None = None,
) -> Response:
    return show(request, viewer, db, done=done if done in DONE else None)


def _kept(db: Database, viewer: Viewer, relay_id: str) -> RelayItem:
    with db.session() as s:
        row = s.get(Relay, relay_id)
        if row is None:
            raise HTTPException(404, translate_in(viewer.lang, "relays.error.unknown"))
        return store.to_item(row)


@router.get("/programme/relays/{relay_id}")
def edit_relay(request: Request, db: DbDep, viewer: EDITOR, relay_id: str) -> Response:
    item = _kept(db, viewer, relay_id)
    return _edit_page(
        request,
        viewer,
        db,
        relay_id=relay_id,
        values=relay_values(item),
        errors={},
        relay_title=item.title,
    )


def _save(
    request: Request,
    viewer: Viewer,
    db: Database,
    *,
    config: ControllerConfig,
    form: RelayForm,
    relay_id: str | None,
) -> Response:
    """Make (no ``relay_id``) or change a relay; a refusal shows the form again, as typed,
    with each message beside its field, and changes nothing."""
    t = partial(translate_in, viewer.lang)
    kept = _kept(db, viewer, relay_id) if relay_id else None
    item, keys = relay_from_form(form, relay_id or new_relay_id(form.title), kept)
    errors = {name: t(key) for name, key in keys.items()}
    status = 422
    if item is not None:
        try:
            with db.session() as s:
                store.save(s, config, viewer.user, item, new=relay_id is None)
        except DomainError as exc:
            errors[field_of(exc) or "form"] = exc.message(viewer.lang)
            status = 404 if isinstance(exc, NotFoundError) else 422
    if not errors:
        done = "changed" if relay_id else "added"
        return RedirectResponse(f"/programme/relays?done={done}", status_code=303)
    values = form_values(form, list(kept.nodes) if kept else [])
    if relay_id is None:
        return show(request, viewer, db, status_code=status, values=values, errors=errors)
    assert kept is not None
    return _edit_page(
        request,
        viewer,
        db,
        relay_id=relay_id,
        status_code=status,
        values=values,
        errors=errors,
        relay_title=kept.title,
    )


@router.post("/programme/relays")
@router.post("/programme/relays/{relay_id}")
def post_relay(
    request: Request,
    *,
    config: ConfigDep,
    db: DbDep,
    viewer: EDITOR_POST,
    relay_id: str | None = None,  # a new relay without one
    title: Annotated[str, Form(max_length=300)] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
    start: Annotated[str, Form(max_length=8)] = "",
    end: Annotated[str, Form(max_length=8)] = "",
    repeat: Annotated[str, Form(max_length=10)] = "daily",
    date: Annotated[str, Form(max_length=10)] = "",
    weekdays: Annotated[list[str] | None, Form()] = None,
    month_days: Annotated[str, Form(max_length=100)] = "",
    until: Annotated[str, Form(max_length=10)] = "",
    zones: Annotated[list[str] | None, Form()] = None,
) -> Response:
    days = RepeatForm(repeat, date, tuple(weekdays or ()), month_days, until)
    form = RelayForm(title, url, start, end, days, tuple(zones or ()))
    return _save(request, viewer, db, config=config, form=form, relay_id=relay_id)


@router.post("/programme/relays/{relay_id}/remove")
def remove_relay(
    relay_id: str,
    request: Request,
    db: DbDep,
    viewer: EDITOR_POST,
) -> Response:
    try:
        with db.session() as s:
            store.remove(s, viewer.user, relay_id)
    except DomainError as exc:
        return show(request, viewer, db, status_code=404, errors={"form": exc.message(viewer.lang)})
    return RedirectResponse("/programme/relays?done=removed", status_code=303)
