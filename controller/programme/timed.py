"""Every timed thing in a window, from every source that makes a loudspeaker speak at a time:
the programme's airings (slot items and items at their own time, repeats expanded), one-off
bulletins set for a time, emergency alerts, and live sessions (who went live, where, and how many
points carried it). The calendar shows what ``timed_things`` returns.

Each source is a function ``(session, start, end) -> things``; a new kind of timed thing (a
relayed station, issue 15) is one more function in ``SOURCES``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from controller.broadcast.approval import BroadcastRequest
from controller.broadcast.targets import resolve_targets
from controller.delivery.state import NOT_PLAYED, PROGRESS
from controller.errors import InvalidInputError
from controller.models import Alert, Bulletin, Delivery, Relay, RelayRun, User, now
from controller.programme import store
from controller.relay.store import to_item
from schedules.expand import expand_items

Kind = Literal["slot_item", "timed_item", "bulletin", "alert", "live", "relay"]
# Plain states a timed thing is in; the pages say each in words.
Status = Literal[
    "planned",  # in the programme, not yet sent to the points
    "not_sent",  # its time passed before it was ever sent (placed too late, say)
    "awaiting_review",  # asked for, waiting for an approver
    "waiting",  # sent to the points, not yet playing
    "playing",
    "played",
    "partly",  # played at some points, not at others
    "missed",  # played nowhere
    "cancelled",  # taken out, or stopped by order
    "proposed",  # an alert waiting for its second person
    "active",  # an alert on air
    "ended",  # an alert that ran its course
]
WAITING_STATES = set(PROGRESS[:4])  # queued .. ready


@dataclass(frozen=True)
class TimedThing:
    kind: Kind
    start: dt.datetime  # aware
    duration_s: float
    title: str
    status: Status
    node_ids: tuple[str, ...]
    ref: tuple[str, str]  # what it links to: ("bulletin", id) or ("alert", id)
    slot_name: str = ""
    repeats: bool = False  # one airing of an item that repeats
    by: str = ""  # a live session: who spoke
    carried: int | None = None  # a live session: the points that played it


Source = Callable[[Session, dt.datetime, dt.datetime], Iterable[TimedThing]]


def delivery_status(statuses: Sequence[str], *, future: bool) -> Status:
    """One word for an airing from its deliveries' statuses (none yet: planned or missed)."""
    if not statuses:
        return "planned" if future else "not_sent"
    got = set(statuses)
    if "started" in got:
        return "playing"
    if got & WAITING_STATES:
        return "waiting"
    if got == {"cancelled"}:
        return "cancelled"
    if "finished" in got:
        return "played" if got == {"finished"} else "partly"
    return "missed" if got <= set(NOT_PLAYED) else "waiting"


def _statuses(
    s: Session, column: InstrumentedAttribute[str], keys: list[str]
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if not keys:
        return out
    rows = s.execute(select(column, Delivery.status).distinct().where(column.in_(keys))).all()
    for key, status in rows:
        out.setdefault(key, []).append(status)
    return out


def programme_airings(s: Session, start: dt.datetime, end: dt.datetime) -> list[TimedThing]:
    prog = store.load(s)
    found = expand_items(prog, start, end, store.zone_nodes(s), strict_zones=False)
    pids = [store.play_id(o) for o in found]
    by_play = _statuses(s, Delivery.play_id, pids)
    items = {i.id: i for i in prog.items}
    moment = now()
    out = []
    for occ, pid in zip(found, pids, strict=True):
        slot = prog.slot(occ.slot_id) if occ.slot_id else None
        item = items[occ.item_id]
        out.append(
            TimedThing(
                kind="slot_item" if slot else "timed_item",
                start=occ.start,
                duration_s=occ.duration_s,
                title=occ.title,
                status=delivery_status(by_play.get(pid, []), future=occ.start > moment),
                node_ids=occ.node_ids,
                ref=("bulletin", occ.bulletin_id),
                slot_name=slot.name if slot else "",
                repeats=item.recurrence.kind != "once",
            )
        )
    return out


def _alert_bulletins(s: Session) -> set[str]:
    return set(s.scalars(select(Alert.bulletin_id)))


def timed_bulletins(s: Session, start: dt.datetime, end: dt.datetime) -> list[TimedThing]:
    """One-off bulletins set for a time: sent (the points hold them) or awaiting approval."""
    alerts = _alert_bulletins(s)
    sent = [
        b
        for b in s.scalars(
            select(Bulletin).where(
                Bulletin.status == "sent",
                Bulletin.kind != "live",  # a live session is its own source
                Bulletin.play_at >= start,
                Bulletin.play_at < end,
            )
        )
        if b.id not in alerts
    ]
    by_bulletin = _statuses(s, Delivery.bulletin_id, [b.id for b in sent])
    nodes = _nodes_of(s, [b.id for b in sent])
    moment = now()
    out = [
        TimedThing(
            kind="bulletin",
            start=b.play_at,
            duration_s=b.audio.duration_s,
            title=b.title,
            status=delivery_status(by_bulletin.get(b.id, []), future=b.play_at > moment),
            node_ids=nodes.get(b.id, ()),
            ref=("bulletin", b.id),
        )
        for b in sent
        if b.play_at is not None
    ]
    out.extend(_awaiting(s, start, end))
    return out


def _awaiting(s: Session, start: dt.datetime, end: dt.datetime) -> list[TimedThing]:
    """Bulletins waiting for approval that ask for a time in the window."""
    out = []
    for b in s.scalars(select(Bulletin).where(Bulletin.status == "pending")):
        try:
            request = BroadcastRequest.model_validate(b.request)
        except ValueError:
            continue
        at = request.when.at
        if request.when.kind != "at" or at is None or not start <= at < end:
            continue
        where = request.where
        try:
            nodes = resolve_targets(s, where.all, where.zones, where.nodes)
        except InvalidInputError:
            nodes = []
        out.append(
            TimedThing(
                kind="bulletin",
                start=at,
                duration_s=b.audio.duration_s,
                title=b.title,
                status="awaiting_review",
                node_ids=tuple(sorted(nodes)),
                ref=("bulletin", b.id),
            )
        )
    return out


def _nodes_of(s: Session, bulletin_ids: list[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, set[str]] = {}
    if bulletin_ids:
        rows = s.execute(
            select(Delivery.bulletin_id, Delivery.node_id)
            .distinct()
            .where(Delivery.bulletin_id.in_(bulletin_ids))
        )
        for bid, node in rows:
            out.setdefault(bid, set()).add(node)
    return {k: tuple(sorted(v)) for k, v in out.items()}


ALERT_STATUS: dict[str, Status] = {
    "proposed": "proposed",
    "active": "active",
    "cancelled": "cancelled",
    "expired": "ended",
    "superseded": "ended",
}


def alerts(s: Session, start: dt.datetime, end: dt.datetime) -> list[TimedThing]:
    """Emergencies sent (or waiting to be) in the window, and those still on air in it."""
    began = func.coalesce(Alert.sent_at, Alert.created_at)
    rows = s.scalars(
        select(Alert).where(
            began < end,
            or_(began >= start, and_(Alert.state == "active", Alert.expires_at > start)),
        )
    ).all()
    moment = now()
    out = []
    for a in rows:
        at = a.sent_at or a.created_at
        status = ALERT_STATUS.get(a.state, "ended")
        if status == "active" and a.expires_at <= moment:
            status = "ended"
        out.append(
            TimedThing(
                kind="alert",
                start=at,
                duration_s=a.bulletin.audio.duration_s,
                title=a.bulletin.title or a.text[:80],
                status=status,
                node_ids=tuple(sorted(a.targets)),
                ref=("alert", a.id),
            )
        )
    return out


def live_sessions(s: Session, start: dt.datetime, end: dt.datetime) -> list[TimedThing]:
    """Live sessions kept (bulletins of kind "live", controller/live/record.py): when they went
    on air, who spoke, the points asked for and how many of them played it."""
    rows = s.execute(
        select(Bulletin, User)
        .join(User, User.id == Bulletin.created_by)
        .where(Bulletin.kind == "live", Bulletin.play_at >= start, Bulletin.play_at < end)
        # a relay's window is kept as a live bulletin too: the calendar shows it as the relay
        .where(
            Bulletin.id.not_in(
                select(RelayRun.bulletin_id).where(RelayRun.bulletin_id.is_not(None))
            )
        )
    ).all()
    by_bulletin = _statuses(s, Delivery.bulletin_id, [b.id for b, _ in rows])
    played: dict[str, int] = {
        bid: count
        for bid, count in s.execute(
            select(Delivery.bulletin_id, func.count(Delivery.node_id.distinct()))
            .where(Delivery.bulletin_id.in_([b.id for b, _ in rows]))
            .where(Delivery.status == "finished")
            .group_by(Delivery.bulletin_id)
        )
    }
    nodes = _nodes_of(s, [b.id for b, _ in rows])
    out = []
    for b, user in rows:
        if b.play_at is None:
            continue
        asked = (b.request or {}).get("targets")
        targets = tuple(sorted(asked)) if isinstance(asked, list) else nodes.get(b.id, ())
        out.append(
            TimedThing(
                kind="live",
                start=b.play_at,
                duration_s=b.audio.duration_s,
                title=b.title,
                status=delivery_status(by_bulletin.get(b.id, []), future=False),
                node_ids=targets,
                ref=("bulletin", b.id),
                by=user.display_name or user.username,
                carried=played.get(b.id, 0),
            )
        )
    return out


# How a relay's window that ran went, in the calendar's words (controller/relay/tally.py).
RUN_STATUS: dict[str, Status] = {
    "running": "playing",
    "finished": "played",
    "failed": "missed",
    "interrupted": "partly",
}


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def relays(s: Session, start: dt.datetime, end: dt.datetime) -> list[TimedThing]:
    """Each window of each relayed station (tiếp âm) in the window; one that ran says how."""
    rows = list(s.scalars(select(Relay)))
    if not rows:
        return []
    ran = s.scalars(
        select(RelayRun).where(RelayRun.window_start < end, RelayRun.window_end > start)
    )
    runs = {(run.relay_id, _utc(run.window_start)): run for run in ran}
    out = []
    for row in rows:
        item = to_item(row)
        try:
            nodes = tuple(sorted(resolve_targets(s, False, item.zones, item.nodes)))
        except InvalidInputError:  # its villages were removed since
            nodes = ()
        for window in item.windows(start, end):
            run = runs.get((row.id, _utc(window.start)))
            if run is not None:
                status = RUN_STATUS.get(run.status, "playing")
            else:
                status = "planned" if _utc(window.end) > _utc(now()) else "not_sent"
            out.append(
                TimedThing(
                    kind="relay",
                    start=window.start,
                    duration_s=float(item.duration_s),
                    title=row.title,
                    status=status,
                    node_ids=nodes,
                    ref=("relay", row.id),
                    repeats=True,
                )
            )
    return out


SOURCES: tuple[Source, ...] = (
    programme_airings,
    timed_bulletins,
    alerts,
    live_sessions,
    relays,
)


def timed_things(
    s: Session,
    start: dt.datetime,
    end: dt.datetime,
    sources: Sequence[Source] = SOURCES,
) -> list[TimedThing]:
    """Everything timed that starts in [start, end) (alerts: or is still on air), by start."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("timed_things: start and end must be timezone-aware")
    found = [thing for source in sources for thing in source(s, start, end)]
    return sorted(found, key=lambda t: (t.start, t.title))
