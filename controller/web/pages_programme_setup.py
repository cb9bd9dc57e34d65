"""Making the programme in the app: slots, quiet hours and repeated items, listed for everyone
and made, changed and removed by approvers and admins, as plain form posts that work without JS.
A refused form comes back with the reason next to its field and the programme as it was."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from controller import programme
from controller.api.deps import ConfigDep, DbDep, DispatcherDep
from controller.config import ControllerConfig
from controller.db import Database
from controller.delivery.dispatcher import Dispatcher
from controller.web import request_words
from controller.web.deps import Viewer, allowed
from controller.web.pages_programme import grace
from controller.web.programme_forms import (
    SlotForm,
    new_slot_id,
    quiet_from_form,
    slot_from_form,
    slot_values,
)
from controller.web.programme_view import recurrence_text
from controller.web.render import page, translate_in
from schedules import Slot

router = APIRouter(include_in_schema=False)
DONE = ("slot_saved", "slot_removed", "quiet_saved", "quiet_lifted", "item_saved")
EDITOR = Annotated[Viewer, allowed("programme.edit")]
EDITOR_POST = Annotated[Viewer, allowed("programme.edit", post=True)]


def refused(s: Session, change: Callable[[], object]) -> list[programme.Refusal]:
    """Makes one programme change; what the programme refused (the change rolled back), or
    nothing."""
    try:
        change()
    except programme.ProgrammeRefusedError as exc:
        s.rollback()
        return exc.refusals
    return []


def error_texts(
    viewer: Viewer, errors: dict[str, str], refusals: list[programme.Refusal]
) -> dict[str, str]:
    """Error text by field: the form's own keys translated, then the programme's reasons."""
    out = {f: translate_in(viewer.lang, key) for f, key in errors.items()}
    for r in refusals:
        text = r.message_vi if viewer.lang == "vi" else r.message
        out[r.field] = f"{out[r.field]} {text}" if r.field in out else text
    return out


@router.get("/programme/setup")
def setup_page(
    request: Request,
    db: DbDep,
    viewer: Annotated[Viewer, allowed("view")],
    done: str | None = None,
) -> Response:
    return _setup(request, viewer, db, done=done if done in DONE else None)


def _setup(
    request: Request,
    viewer: Viewer,
    db: Database,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    quiet_values: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    t = partial(translate_in, viewer.lang)
    with db.session() as s:
        prog = programme.load(s)
        zone_names = {z["code"]: z["name"] for z in request_words.zone_choices(s)}
    quiet = prog.quiet_hours
    return page(
        request,
        viewer,
        "programme/setup.html",
        status_code=status_code,
        prog=prog,
        slot_rows=[
            {
                "slot": sl,
                "span": slot_span(sl),
                "days": weekday_words(sl.weekdays, t),
                "where": ", ".join(zone_names.get(z, z) for z in sl.zones)
                or t("programme.where.all"),
                "items": sum(1 for i in prog.items if i.slot_id == sl.id),
            }
            for sl in sorted(prog.slots, key=lambda x: x.start)
        ],
        repeated=[
            (i, recurrence_text(i.recurrence, t), prog.slot(i.slot_id) if i.slot_id else None)
            for i in prog.items
            if i.recurrence.kind != "once"
        ],
        editable=viewer.can("programme.edit"),
        errors=errors or {},
        quiet_values=quiet_values
        or {
            "quiet_start": f"{quiet.start:%H:%M}" if quiet else "",
            "quiet_end": f"{quiet.end:%H:%M}" if quiet else "",
        },
        **context,
    )


def slot_span(slot: Slot) -> str:
    end = datetime.combine(date.min, slot.start) + timedelta(seconds=slot.max_length_s)
    return f"{slot.start:%H:%M}–{end:%H:%M}"


def weekday_words(days: frozenset[int], t: Callable[..., str]) -> str:
    if len(days) == 7:
        return t("setup.every_day")
    return ", ".join(t(f"programme.weekday.{d}") for d in sorted(days))


# --- slots ----------------------------------------------------------------------------------


def _slot_form(
    request: Request,
    viewer: Viewer,
    db: Database,
    *,
    slot_id: str | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with db.session() as s:
        zones = request_words.zone_choices(s)
    return page(
        request,
        viewer,
        "programme/slot_form.html",
        status_code=status_code,
        slot_id=slot_id,
        values=values,
        errors=errors or {},
        zones=zones,
    )


@router.get("/programme/slots/new")
def new_slot(request: Request, db: DbDep, viewer: EDITOR) -> Response:
    values = {
        "name": "",
        "start": "",
        "end": "",
        "weekdays": [str(d) for d in range(7)],
        "zones": [],
    }
    return _slot_form(request, viewer, db, slot_id=None, values=values)


@router.get("/programme/slots/{slot_id}")
def edit_slot(request: Request, db: DbDep, viewer: EDITOR, slot_id: str) -> Response:
    with db.session() as s:
        slot = programme.load(s).slot(slot_id)
    if slot is None:
        raise HTTPException(404, translate_in(viewer.lang, "setup.error.unknown_slot"))
    return _slot_form(request, viewer, db, slot_id=slot_id, values=slot_values(slot))


def _save_slot(
    request: Request,
    viewer: Viewer,
    db: Database,
    *,
    config: ControllerConfig,
    dispatcher: Dispatcher,
    form: SlotForm,
    slot_id: str | None,
) -> Response:
    values = {
        "name": form.name,
        "start": form.start,
        "end": form.end,
        "weekdays": list(form.weekdays),
        "zones": list(form.zones),
    }
    with db.session() as s:
        existing = programme.load(s).slot(slot_id) if slot_id else None
        if slot_id and existing is None:
            raise HTTPException(404, translate_in(viewer.lang, "setup.error.unknown_slot"))
        slot, errors = slot_from_form(
            form, slot_id or new_slot_id(), existing.gap_s if existing else 2.0
        )
        refusals: list[programme.Refusal] = []
        if slot is not None:
            save = partial(programme.save_slot, s, dispatcher, grace(config), viewer.user.username)
            refusals = refused(s, partial(save, slot))
    if errors or refusals:
        return _slot_form(
            request,
            viewer,
            db,
            slot_id=slot_id,
            values=values,
            errors=error_texts(viewer, errors, refusals),
            status_code=422 if errors else 409,
        )
    return RedirectResponse("/programme/setup?done=slot_saved", status_code=303)


@router.post("/programme/slots")
@router.post("/programme/slots/{slot_id}")
def post_slot(
    request: Request,
    *,
    config: ConfigDep,
    db: DbDep,
    dispatcher: DispatcherDep,
    viewer: EDITOR_POST,
    slot_id: str | None = None,  # a new slot without one
    name: Annotated[str, Form()] = "",
    start: Annotated[str, Form(max_length=8)] = "",
    end: Annotated[str, Form(max_length=8)] = "",
    weekdays: Annotated[list[str] | None, Form()] = None,
    zones: Annotated[list[str] | None, Form()] = None,
) -> Response:
    form = SlotForm(name, start, end, tuple(weekdays or ()), tuple(zones or ()))
    return _save_slot(
        request, viewer, db, config=config, dispatcher=dispatcher, form=form, slot_id=slot_id
    )


@router.post("/programme/slots/{slot_id}/remove")
def remove_slot(
    request: Request,
    *,
    config: ConfigDep,
    db: DbDep,
    dispatcher: DispatcherDep,
    viewer: EDITOR_POST,
    slot_id: str,
) -> Response:
    with db.session() as s:
        try:
            programme.remove_slot(s, dispatcher, grace(config), viewer.user.username, slot_id)
        except programme.NoSuchSlotError:
            raise HTTPException(
                404, translate_in(viewer.lang, "setup.error.unknown_slot")
            ) from None
        except programme.ProgrammeRefusedError as exc:
            s.rollback()
            errors = error_texts(viewer, {}, exc.refusals)
            return _setup(request, viewer, db, status_code=409, error_slot=slot_id, errors=errors)
    return RedirectResponse("/programme/setup?done=slot_removed", status_code=303)


# --- quiet hours ----------------------------------------------------------------------------


@router.post("/programme/quiet-hours")
def quiet_hours(
    request: Request,
    *,
    config: ConfigDep,
    db: DbDep,
    dispatcher: DispatcherDep,
    viewer: EDITOR_POST,
    quiet_start: Annotated[str, Form(max_length=8)] = "",
    quiet_end: Annotated[str, Form(max_length=8)] = "",
    lift: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    quiet, errors = (None, {}) if lift else quiet_from_form(quiet_start, quiet_end)
    refusals: list[programme.Refusal] = []
    if not errors:
        with db.session() as s:
            change = partial(
                programme.set_quiet_hours, s, dispatcher, grace(config), viewer.user.username, quiet
            )
            refusals = refused(s, change)
    if errors or refusals:
        return _setup(
            request,
            viewer,
            db,
            status_code=422 if errors else 409,
            errors=error_texts(viewer, errors, [_on_quiet(r) for r in refusals]),
            quiet_values={"quiet_start": quiet_start, "quiet_end": quiet_end},
        )
    done = "quiet_lifted" if lift else "quiet_saved"
    return RedirectResponse(f"/programme/setup?done={done}#quiet", status_code=303)


def _on_quiet(r: programme.Refusal) -> programme.Refusal:
    return programme.Refusal("quiet_start", r.message, r.message_vi)
