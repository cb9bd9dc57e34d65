"""What each role's home page shows now: today's programme still to come, bulletins waiting
for approval, the viewer's rejected bulletins with the reason, bulletins that did not play, and
points out of touch with for how long. Each list is whole (or says how many more there are),
so a count on the page is the length of the list it heads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controller import programme
from controller.models import Bulletin, Delivery, Node, User, now
from controller.web.programme_view import Places, Translate, _live, day_blocks, local_day
from schedules import LOCAL

NOT_PLAYED_DAYS = 7
# A failure, not a decision: a withdrawn airing ("cancelled") is not "not played".
MISSED = ("failed", "expired", "rejected", "interrupted")
SHOWN = 10  # offline points listed by name; the rest are counted and linked


@dataclass(frozen=True)
class TodayItem:
    start: dt.datetime  # local
    title: str
    where: str
    live: dict[str, int]  # programme_view.LIVE_GROUPS -> points; empty before it is sent
    bulletin_id: str


@dataclass(frozen=True)
class Missed:
    bulletin: Bulletin
    points: int


@dataclass(frozen=True)
class Offline:
    node: Node
    for_s: float | None  # how long out of touch; None: never in touch


def today(s: Session, t: Translate) -> list[TodayItem]:
    """The airings of the rest of today, programme and one-off timed bulletins alike."""
    current = now()
    day = current.astimezone(LOCAL).date()
    places = Places.load(s)
    items = [
        TodayItem(a.start, a.occ.title, a.where, a.live, a.occ.bulletin_id)
        for block in day_blocks(s, programme.load(s), places, day, t)
        for a in block.airings
        if a.start + dt.timedelta(seconds=a.occ.duration_s) >= current
    ]
    start = local_day(day, LOCAL)
    timed = s.scalars(
        select(Bulletin).where(
            Bulletin.play_at >= max(start, current - dt.timedelta(minutes=10)),
            Bulletin.play_at < start + dt.timedelta(days=1),
            Bulletin.status == "sent",
        )
    ).all()
    live = _live(s, [b.id for b in timed])
    for b in timed:
        assert b.play_at is not None
        nodes = s.scalars(select(Delivery.node_id).where(Delivery.play_id == b.id)).all()
        at = b.play_at.astimezone(LOCAL)
        items.append(TodayItem(at, b.title, places.describe(nodes, t), live.get(b.id, {}), b.id))
    return sorted(items, key=lambda i: i.start)


def waiting(s: Session) -> Sequence[Bulletin]:
    return s.scalars(
        select(Bulletin).where(Bulletin.status == "pending").order_by(Bulletin.created_at)
    ).all()


def rejected(s: Session, user: User) -> Sequence[Bulletin]:
    return s.scalars(
        select(Bulletin)
        .where(Bulletin.status == "rejected", Bulletin.created_by == user.id)
        .order_by(Bulletin.reviewed_at.desc())
    ).all()


def not_played(s: Session, user: User | None) -> list[Missed]:
    """Bulletins of the last days that some points did not play (``user``'s own, or all)."""
    since = now() - dt.timedelta(days=NOT_PLAYED_DAYS)
    query = (
        select(Bulletin, func.count(Delivery.id))
        .join(Delivery, Delivery.bulletin_id == Bulletin.id)
        .where(Delivery.status.in_(MISSED), Delivery.updated_at >= since)
        .group_by(Bulletin.id)
        .order_by(func.max(Delivery.updated_at).desc())
    )
    if user is not None:
        query = query.where(Bulletin.created_by == user.id)
    return [Missed(b, count) for b, count in s.execute(query).all()]


def offline(s: Session) -> tuple[list[Offline], int]:
    """The points out of touch, longest first (at most ``SHOWN``), and how many there are."""
    rows = s.scalars(
        select(Node).where(Node.status == "offline").order_by(Node.last_seen.asc())
    ).all()
    current = now()
    shown = [
        Offline(n, (current - n.last_seen).total_seconds() if n.last_seen else None)
        for n in rows[:SHOWN]
    ]
    return shown, len(rows)


def how_long(seconds: float, t: Translate) -> str:
    """ "3 giờ", "2 ngày": a rough span in plain words."""
    minutes = int(seconds // 60)
    if minutes < 60:
        return t("home.span.minutes", count=max(minutes, 1))
    if minutes < 48 * 60:
        return t("home.span.hours", count=minutes // 60)
    return t("home.span.days", count=minutes // (24 * 60))
