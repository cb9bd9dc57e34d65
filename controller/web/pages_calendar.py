"""The calendar: every timed thing (programme airings, bulletins set for a time, emergencies)
by day, by week and as a month overview, in Asia/Ho_Chi_Minh, each with its status in words,
where it plays and a link to its bulletin, report or alert."""

from __future__ import annotations

import calendar as month_grid
import datetime as dt
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from controller.api.deps import DbDep
from controller.programme.timed import TimedThing, timed_things
from controller.web.deps import Viewer, allowed
from controller.web.pages_programme import parse_day, today
from controller.web.programme_view import Places, Translate
from controller.web.render import page, translate_in
from schedules import LOCAL

router = APIRouter(include_in_schema=False)
VIEWS = ("day", "week", "month")
# Statuses that mean it went (or is going) out: their link is the delivery report.
REPORTED = ("waiting", "playing", "played", "partly", "missed", "cancelled")


@dataclass(frozen=True)
class Entry:
    thing: TimedThing
    at: dt.datetime  # local
    where: str
    link: str
    earlier: bool = False  # began before the day it is listed on (an alert still on air)


def link_of(thing: TimedThing) -> str:
    kind, ref = thing.ref
    if kind == "alert":
        return f"/emergency/{ref}"
    if kind == "relay":
        return f"/programme/relays#relay-{ref}"
    if thing.status in REPORTED and thing.kind == "bulletin":
        return f"/bulletins/{ref}/report"
    return f"/bulletins/{ref}"


def window(view: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last local date the view shows."""
    if view == "day":
        return day, day
    if view == "week":
        monday = day - dt.timedelta(days=day.weekday())
        return monday, monday + dt.timedelta(days=6)
    first = day.replace(day=1)
    last = first.replace(day=month_grid.monthrange(first.year, first.month)[1])
    return first, last


def step(view: str, day: dt.date, forward: bool) -> dt.date:
    sign = 1 if forward else -1
    if view == "day":
        return day + dt.timedelta(days=sign)
    if view == "week":
        return day + dt.timedelta(days=7 * sign)
    first = day.replace(day=1)
    return (
        (first + dt.timedelta(days=32)).replace(day=1)
        if forward
        else (first - dt.timedelta(days=1)).replace(day=1)
    )


def by_day(
    things: list[TimedThing], first: dt.date, last: dt.date, places: Places, t: Translate
) -> dict[dt.date, list[Entry]]:
    days: dict[dt.date, list[Entry]] = {}
    d = first
    while d <= last:
        days[d] = []
        d += dt.timedelta(days=1)
    for thing in things:
        at = thing.start.astimezone(LOCAL)
        # an alert still on air from before the window shows on the window's first day
        key = max(at.date(), first)
        if key in days:
            where = places.describe(thing.node_ids, t)
            days[key].append(Entry(thing, at, where, link_of(thing), earlier=at.date() < key))
    return days


@router.get("/programme/calendar")
def calendar_page(
    request: Request,
    db: DbDep,
    viewer: Annotated[Viewer, allowed("view")],
    view: str = "day",
    day: str | None = None,
) -> Response:
    t = partial(translate_in, viewer.lang)
    shown = view if view in VIEWS else "day"
    chosen = parse_day(day)
    first, last = window(shown, chosen)
    start = dt.datetime.combine(first, dt.time(), tzinfo=LOCAL)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=LOCAL)
    with db.session() as s:
        places = Places.load(s)
        days = by_day(timed_things(s, start, end), first, last, places, t)
    weeks = month_grid.Calendar().monthdatescalendar(first.year, first.month)
    return page(
        request,
        viewer,
        "programme/calendar.html",
        view=shown,
        day=chosen,
        first=first,
        last=last,
        days=days,
        weeks=weeks if shown == "month" else [],
        today=today(),
        before=step(shown, chosen, forward=False),
        after=step(shown, chosen, forward=True),
    )
