"""The approval workflow: a broadcaster's request (where, when, priority) for a bulletin, checked
when it is sent for approval and again when it is approved, and carried out on approval.

A request is "now", "at" a time, or in a programme "slot" with a recurrence. Approving "now" or
"at" sends the bulletin at once (status ``sent``, the nodes hold it until its time); approving a
slot places a programme item (status ``approved``: the programme sends each airing ahead of time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller import audit, notifications, programme
from controller.broadcast.bulletins import send
from controller.broadcast.local_dates import parse_day, parse_day_time
from controller.broadcast.targets import resolve_targets
from controller.broadcast.times import check_quiet_hours, future, valid_until
from controller.config import ControllerConfig
from controller.delivery.dispatcher import Dispatcher
from controller.errors import ConflictError, InvalidInputError
from controller.models import Bulletin, BulletinReview, User, Zone, now
from protocol.signing import MAX_COMMAND_TTL
from schedules import LOCAL, Conflict, Programme, ProgrammeItem, Recurrence
from schedules.expand import expand_items

PRIORITIES = ("priority", "normal", "filler")  # emergencies have their own page
# How far ahead a slot request must have an airing: a recurrence that never airs is refused.
FIRST_AIRING_HORIZON = timedelta(days=400)
# Which form field a programme conflict belongs to.
CONFLICT_FIELD = {"unknown_zone": "where", "bad_recurrence": "until", "unknown_slot": "slot"}


class Where(BaseModel):
    model_config = ConfigDict(extra="forbid")
    all: bool = False
    zones: list[str] = Field(default_factory=list)
    nodes: list[str] = Field(default_factory=list)


class When(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["now", "at", "slot"]
    at: datetime | None = None  # for "at": local time as chosen
    slot_id: str | None = None  # for "slot"
    recurrence: Recurrence | None = None  # for "slot"


class BroadcastRequest(BaseModel):
    """What the broadcaster asked for; stored as JSON in ``Bulletin.request``."""

    model_config = ConfigDict(extra="forbid")
    where: Where
    when: When
    priority: Literal["priority", "normal", "filler"] = "normal"


@dataclass(frozen=True)
class Problem:
    """Why a request cannot be carried out, tied to the form field it is about. ``code`` names
    the message; a programme ``conflict`` brings its own English and Vietnamese text."""

    field: str
    code: str
    values: dict[str, str] = dataclass_field(default_factory=dict)
    conflict: Conflict | None = None


# beyond the protocol's command lifetime: every point would refuse it
TOO_FAR = Problem("at", "too_far", {"days": str(MAX_COMMAND_TTL.days)})


class RequestProblemsError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(", ".join(f"{p.field}: {p.code}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Form:
    """The request form's raw fields, as posted."""

    where: str = ""
    zones: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    when: str = ""
    at: str = ""
    slot: str = ""
    repeat: str = "once"
    date: str = ""
    weekdays: tuple[str, ...] = ()
    until: str = ""
    priority: str = "normal"


def from_form(form: Form) -> tuple[BroadcastRequest | None, list[Problem]]:
    """The request the form describes, or the problems with its fields (shape only: whether
    targets exist or a time is free is for ``check``)."""
    problems: list[Problem] = []
    where = Where(
        all=form.where == "all",
        zones=list(form.zones) if form.where == "zones" else [],
        nodes=list(form.nodes) if form.where == "nodes" else [],
    )
    if not (where.all or where.zones or where.nodes):
        problems.append(Problem("where", "no_targets"))
    if form.priority not in PRIORITIES:
        problems.append(Problem("priority", "bad_priority"))
    when: When | None = None
    if form.when == "now":
        when = When(kind="now")
    elif form.when == "at":
        when = _at(form.at, problems)
    elif form.when == "slot":
        when = _slot(form, problems)
    else:
        problems.append(Problem("when", "no_when"))
    if problems or when is None:
        return None, problems
    priority: Literal["priority", "normal", "filler"] = form.priority  # type: ignore[assignment]
    return BroadcastRequest(where=where, when=when, priority=priority), []


def _at(text: str, problems: list[Problem]) -> When | None:
    if not text:
        problems.append(Problem("at", "no_time"))
        return None
    try:
        at = parse_day_time(text)
    except ValueError:
        problems.append(Problem("at", "bad_time"))
        return None
    return When(kind="at", at=at if at.tzinfo else at.replace(tzinfo=LOCAL))


def _slot(form: Form, problems: list[Problem]) -> When | None:
    if not form.slot:
        problems.append(Problem("slot", "no_slot"))
    dates: dict[str, dt.date | None] = {}
    for name, text in (("date", form.date), ("until", form.until)):
        try:
            dates[name] = parse_day(text) if text else None
        except ValueError:
            problems.append(Problem(name, "bad_date"))
    if dates.get("date") is None and "date" not in {p.field for p in problems}:
        problems.append(Problem("date", "no_date"))
    weekdays = frozenset(int(d) for d in form.weekdays if d.isdigit() and int(d) < 7)
    if form.repeat == "weekly" and not weekdays:
        problems.append(Problem("weekdays", "no_weekdays"))
    if form.repeat not in ("once", "daily", "weekly"):
        problems.append(Problem("repeat", "bad_repeat"))
    if problems:
        return None
    start = dates["date"]
    assert start is not None
    until = dates["until"] if form.repeat != "once" else None
    try:
        recurrence = Recurrence(
            kind=form.repeat,
            start_date=start,
            end_date=until,
            weekdays=weekdays if form.repeat == "weekly" else None,
        )
    except ValidationError:
        problems.append(Problem("repeat", "bad_repeat"))
        return None
    return When(kind="slot", slot_id=form.slot, recurrence=recurrence)


def check(s: Session, bulletin: Bulletin, request: BroadcastRequest) -> list[Problem]:
    """Everything that would stop ``request`` being carried out now; empty when it can be."""
    problems: list[Problem] = []
    try:
        _targets(s, request.where)
    except RequestProblemsError as exc:
        problems.extend(exc.problems)
    when = request.when
    if when.kind == "slot":
        problems.extend(_slot_problems(s, bulletin, request))
        return problems
    start = now()
    if when.kind == "at" and when.at is not None:
        try:
            start = future(when.at, "at")
            valid_until(start, timedelta(0), "at")
        except InvalidInputError as exc:
            return [*problems, Problem("at", "past") if exc.code == "time.past" else TOO_FAR]
    quiet = programme.load(s).quiet_hours
    try:
        check_quiet_hours(quiet, start, seconds=bulletin.audio.duration_s)
    except ConflictError:
        assert quiet is not None
        window = {"start": f"{quiet.start:%H:%M}", "end": f"{quiet.end:%H:%M}"}
        problems.append(Problem("at" if when.kind == "at" else "when", "quiet_hours", window))
    return problems


def _targets(s: Session, where: Where) -> list[str]:
    try:
        return resolve_targets(s, where.all, where.zones, where.nodes)
    except InvalidInputError:
        raise RequestProblemsError([Problem("where", "unknown_targets")]) from None


def _item(s: Session, bulletin: Bulletin, request: BroadcastRequest) -> ProgrammeItem:
    where, when = request.where, request.when
    assert when.recurrence is not None
    zones = sorted(s.scalars(select(Zone.code))) if where.all else where.zones
    return programme.build_item(
        bulletin,
        priority=request.priority,
        slot_id=when.slot_id,
        position=0,
        recurrence=when.recurrence,
        zones=zones,
        nodes=where.nodes,
    )


def _slot_problems(s: Session, bulletin: Bulletin, request: BroadcastRequest) -> list[Problem]:
    current = programme.load(s)
    slot = current.slot(request.when.slot_id or "")
    if slot is None:
        return [Problem("slot", "unknown_slot")]
    item = _item(s, bulletin, request)
    if not _airs_again(current, item, programme.zone_nodes(s)):
        return [Problem("date", "no_airing")]
    return [
        Problem(CONFLICT_FIELD.get(c.code, "slot"), "conflict", conflict=c)
        for c in programme.item_conflicts(s, item)
    ]


def _airs_again(current: Programme, item: ProgrammeItem, zone_nodes: dict[str, list[str]]) -> bool:
    alone = current.model_copy(update={"items": [item]})
    start = now()
    end = start + FIRST_AIRING_HORIZON
    return bool(expand_items(alone, start, end, zone_nodes, strict_zones=False))


def carry_out(
    s: Session,
    config: ControllerConfig,
    dispatcher: Dispatcher,
    reviewer: User,
    bulletin: Bulletin,
) -> str:
    """Do what the approved request asks; returns the bulletin's new status. Raises
    RequestProblemsError, changing nothing, if it cannot be done any more."""
    request = BroadcastRequest.model_validate(bulletin.request)
    if problems := check(s, bulletin, request):
        raise RequestProblemsError(problems)
    bulletin.priority = request.priority
    when = request.when
    if when.kind == "slot":
        item = _item(s, bulletin, request)
        try:
            programme.add_item(
                s, dispatcher, timedelta(seconds=config.late_grace_s), reviewer.username, item
            )
        except programme.ItemConflictsError as exc:  # changed between check and now
            raise RequestProblemsError(
                [Problem("slot", "conflict", conflict=c) for c in exc.conflicts]
            ) from None
        bulletin.request = {**bulletin.request, "item_id": item.id}
        return "approved"
    start = when.at if when.kind == "at" else None
    try:
        lapses = valid_until(start, timedelta(minutes=config.default_valid_minutes), "at")
    except InvalidInputError:  # starts within the limit but would outlive it
        raise RequestProblemsError([TOO_FAR]) from None
    bulletin.play_at = start
    bulletin.valid_until = lapses
    send(s, dispatcher, reviewer, bulletin, targets=_targets(s, request.where))
    return "sent"


def submit(s: Session, user: User, bulletin: Bulletin, request: BroadcastRequest) -> None:
    """Ask for approval: checked now, and again by ``carry_out`` on approval."""
    if problems := check(s, bulletin, request):
        raise RequestProblemsError(problems)
    bulletin.request = request.model_dump(mode="json")
    bulletin.priority = request.priority
    bulletin.status = "pending"
    bulletin.reviewed_by, bulletin.reviewed_at, bulletin.review_comment = None, None, ""
    audit.record(
        s,
        user.username,
        "bulletin.submit",
        bulletin.id,
        request=bulletin.request,
        title=bulletin.title,
    )
    notifications.waiting_review(s, bulletin, user)


def approve(
    s: Session,
    config: ControllerConfig,
    dispatcher: Dispatcher,
    reviewer: User,
    bulletin: Bulletin,
    *,
    comment: str = "",
) -> None:
    if bulletin.created_by == reviewer.id:
        raise RequestProblemsError([Problem("review", "own_bulletin")])
    if bulletin.status != "pending":
        raise RequestProblemsError([Problem("review", "not_pending")])
    bulletin.status = carry_out(s, config, dispatcher, reviewer, bulletin)
    _reviewed(s, bulletin, reviewer, comment)
    audit.record(
        s,
        reviewer.username,
        "bulletin.approve",
        bulletin.id,
        comment=comment,
        status=bulletin.status,
    )
    notifications.approved(s, bulletin)


def reject(s: Session, reviewer: User, bulletin: Bulletin, comment: str) -> None:
    if not comment.strip():
        raise RequestProblemsError([Problem("comment", "no_comment")])
    if bulletin.status != "pending":
        raise RequestProblemsError([Problem("review", "not_pending")])
    bulletin.status = "rejected"
    _reviewed(s, bulletin, reviewer, comment)
    audit.record(s, reviewer.username, "bulletin.reject", bulletin.id, comment=comment.strip())
    notifications.rejected(s, bulletin, bulletin.review_comment)


def _reviewed(s: Session, bulletin: Bulletin, reviewer: User, comment: str) -> None:
    """The latest decision on the bulletin, and one more line of its review history (kept when
    it is edited and sent again)."""
    bulletin.reviewed_by = reviewer.id
    bulletin.reviewed_at = now()
    bulletin.review_comment = comment.strip()
    decision = "rejected" if bulletin.status == "rejected" else "approved"
    review = BulletinReview(
        bulletin_id=bulletin.id,
        decision=decision,
        comment=bulletin.review_comment,
        reviewer_id=reviewer.id,
        at=bulletin.reviewed_at,
    )
    s.add(review)
