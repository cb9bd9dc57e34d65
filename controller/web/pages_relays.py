"""The relays page (tiếp âm): the stations relayed on schedule, how the last window went, and a
form to add one or take one out (approvers and admins: permission ``relay``)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from controller.api.deps import ConfigDep, DbDep
from controller.db import Database
from controller.errors import DomainError
from controller.models import Zone
from controller.relay import report, store
from controller.web.deps import Viewer, allowed
from controller.web.programme_view import recurrence_text
from controller.web.render import page, translate_in
from schedules import LOCAL

router = APIRouter(include_in_schema=False)


def slug(title: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower().encode("ascii", "ignore").decode()).strip("-")
    return f"{base[:40] or 'tiep-am'}-{uuid.uuid4().hex[:6]}"


def show(
    request: Request, viewer: Viewer, db: Database, *, status_code: int = 200, **context: Any
) -> Response:
    t = partial(translate_in, viewer.lang)
    rows = []
    with db.session() as s:
        zones = {z.code: z.name for z in s.scalars(select(Zone).order_by(Zone.name))}
        for row in store.all_relays(s):
            item = store.to_item(row)
            assert item.recurrence.at is not None
            start = dt.datetime.combine(dt.date.today(), item.recurrence.at)
            end = start + dt.timedelta(seconds=item.duration_s)
            runs = store.runs(s, item.id, limit=1)
            rows.append(
                {
                    "item": item,
                    "when": f"{start:%H:%M}–{end:%H:%M}",
                    "how_often": recurrence_text(item.recurrence, t),
                    "where": ", ".join(zones.get(z, z) for z in item.zones)
                    or t("relays.points", count=len(item.nodes)),
                    "last": report.run_report(s, runs[0]) if runs else None,
                }
            )
    return page(
        request,
        viewer,
        "programme/relays.html",
        status_code=status_code,
        relays=rows,
        zones=zones,
        editable=viewer.can("relay"),
        today=dt.datetime.now(LOCAL).date().isoformat(),
        **context,
    )


@router.get("/programme/relays")
def relays_page(
    request: Request,
    db: DbDep,
    viewer: Annotated[Viewer, allowed("view")],
    done: str | None = None,
) -> Response:
    return show(request, viewer, db, done=done if done in ("added", "removed") else None)


@router.post("/programme/relays")
def add_relay(
    request: Request,
    *,
    config: ConfigDep,
    db: DbDep,
    viewer: Annotated[Viewer, allowed("relay", post=True)],
    title: Annotated[str, Form(max_length=300)] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
    day: Annotated[str, Form(max_length=10)] = "",
    start: Annotated[str, Form(max_length=8)] = "",
    end: Annotated[str, Form(max_length=8)] = "",
    repeat: Annotated[str, Form(max_length=10)] = "daily",
    zones: Annotated[list[str] | None, Form()] = None,
) -> Response:
    form = {"title": title, "url": url, "day": day, "start": start, "end": end, "repeat": repeat}
    try:
        item = store.parse(
            {
                "id": slug(title),
                "title": title.strip(),
                "url": url.strip(),
                "duration_s": window_seconds(start, end),
                "recurrence": {
                    "kind": "once" if repeat == "once" else "daily",
                    "start_date": day,
                    "at": start,
                },
                "zones": zones or [],
            }
        )
        with db.session() as s:
            store.save(s, config, viewer.user, item, new=True)
    except DomainError as exc:
        return show(request, viewer, db, status_code=422, error=exc.message(viewer.lang), form=form)
    return RedirectResponse("/programme/relays?done=added", status_code=303)


def window_seconds(start: str, end: str) -> int:
    """From start to end (local times); an end before the start is the next day."""
    try:
        a, b = dt.time.fromisoformat(start), dt.time.fromisoformat(end)
    except ValueError:
        return 0  # refused by the model, with its words
    seconds = (b.hour * 3600 + b.minute * 60 + b.second) - (
        a.hour * 3600 + a.minute * 60 + a.second
    )
    return seconds % 86400


@router.post("/programme/relays/{relay_id}/remove")
def remove_relay(
    relay_id: str,
    request: Request,
    db: DbDep,
    viewer: Annotated[Viewer, allowed("relay", post=True)],
) -> Response:
    try:
        with db.session() as s:
            store.remove(s, viewer.user, relay_id)
    except DomainError as exc:
        return show(request, viewer, db, status_code=404, error=exc.message(viewer.lang))
    return RedirectResponse("/programme/relays?done=removed", status_code=303)
