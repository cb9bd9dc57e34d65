"""What the public may see: bulletins chosen to be public that have aired, the alerts in force,
and the programme ahead, for the commune or one village.

"Aired in a village" means at least one point of that village reported the bulletin started or
finished (``delivery.state.PLAYED``), or started it and was cut off by an emergency (it resumes
afterwards): a bulletin queued but not yet played, or one every point failed to play, was not
heard there and is not listed. A bulletin is listed only if it went
through (``sent`` by the API or on approval, or ``approved`` into the programme), is public
(alerts always are) and is not an alert later cancelled or replaced by a correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import ColumnElement, Subquery, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from controller import programme
from controller.delivery.state import PLAYED, WAITING, DeliveryStatus
from controller.models import Alert, Bulletin, Delivery, Node, Zone, now
from schedules import expand

# What a bulletin's review may end in that puts it on the air.
WENT_THROUGH = ("sent", "approved")
# An alert in these states was taken back: its audio is no longer offered to anyone.
TAKEN_BACK = ("cancelled", "superseded")
UPCOMING_DAYS = 7
# A play an emergency cut into was heard (in part) and will resume: it stays listed meanwhile.
HEARD: tuple[DeliveryStatus, ...] = (*PLAYED, "interrupted")


@dataclass(frozen=True)
class Aired:
    bulletin_id: str
    title: str
    text: str  # what was read out, for text-to-speech and alerts; "" for a recording
    aired_at: datetime  # the latest airing heard in the place asked about
    duration_s: float
    audio_sha256: str
    emergency: bool


@dataclass(frozen=True)
class AlertNotice:
    alert_id: str
    text: str
    state: str  # "active", or "cancelled" for a cancellation still worth telling
    sent_at: datetime | None
    expires_at: datetime
    corrects: str | None  # the text of the alert this one corrects


@dataclass(frozen=True)
class Upcoming:
    at: datetime
    title: str


@dataclass(frozen=True)
class Regular:
    """A programme slot: when the loudspeakers speak on the usual days."""

    name: str
    start: time  # local
    weekdays: tuple[int, ...]  # 0=Monday; all seven: every day


def listed() -> ColumnElement[bool]:
    """The bulletins the public may see, whatever they are asked about."""
    is_alert = exists().where(Alert.bulletin_id == Bulletin.id)
    taken_back = exists().where(Alert.bulletin_id == Bulletin.id, Alert.state.in_(TAKEN_BACK))
    return and_(Bulletin.status.in_(WENT_THROUGH), or_(Bulletin.public, is_alert), ~taken_back)


def _played_in(zone: Zone | None) -> Subquery:
    heard = func.max(func.coalesce(Delivery.started_at, Delivery.finished_at, Delivery.updated_at))
    query = (
        select(Delivery.bulletin_id, heard.label("heard"))
        .where(Delivery.status.in_(HEARD))
        .group_by(Delivery.bulletin_id)
    )
    if zone is not None:
        query = query.join(Node, Delivery.node_id == Node.id).where(Node.zone_id == zone.id)
    return query.subquery()


def aired(s: Session, zone: Zone | None, *, limit: int = 20) -> list[Aired]:
    """The latest public bulletins heard in ``zone`` (None: anywhere in the commune), newest
    first."""
    played = _played_in(zone)
    rows = s.execute(
        select(Bulletin, played.c.heard)
        .join(played, played.c.bulletin_id == Bulletin.id)
        .where(listed())
        .order_by(played.c.heard.desc())
        .limit(limit)
    ).all()
    alert_texts = dict(
        s.execute(
            select(Alert.bulletin_id, Alert.text).where(
                Alert.bulletin_id.in_([b.id for b, _ in rows])
            )
        ).all()
    )
    return [
        Aired(
            bulletin_id=b.id,
            title=b.title,
            text=alert_texts.get(b.id) or _spoken_text(b),
            aired_at=_aware(heard),
            duration_s=b.audio.duration_s,
            audio_sha256=b.audio_sha256,
            emergency=b.id in alert_texts,
        )
        for b, heard in rows
    ]


def is_listed(s: Session, bulletin_id: str) -> Bulletin | None:
    """The bulletin if the public may hear it (public, went through, aired somewhere)."""
    played = exists().where(Delivery.bulletin_id == Bulletin.id, Delivery.status.in_(HEARD))
    return s.scalar(select(Bulletin).where(Bulletin.id == bulletin_id, listed(), played))


def alerts(s: Session, zone: Zone | None) -> list[AlertNotice]:
    """Alerts in force in ``zone`` (None: anywhere), and cancellations of alerts that would
    still be in force, so that someone who heard the alert learns it was called off."""
    at = now()
    rows = s.scalars(
        select(Alert)
        .where(Alert.expires_at > at, Alert.state.in_(("active", "cancelled")))
        .order_by(Alert.created_at.desc())
    ).all()
    corrected = {a.replaces for a in rows if a.replaces}
    members = _zone_nodes(s, zone)
    notices: list[AlertNotice] = []
    for alert in rows:
        if members is not None and not members & set(alert.targets):
            continue
        if alert.state == "cancelled" and alert.id in corrected:
            continue  # its correction says it all
        old = s.get(Alert, alert.replaces) if alert.replaces else None
        notices.append(
            AlertNotice(
                alert_id=alert.id,
                text=alert.text or alert.bulletin.title,
                state=alert.state,
                sent_at=alert.sent_at,
                expires_at=alert.expires_at,
                corrects=(old.text or old.bulletin.title) if old else None,
            )
        )
    # what is in force comes first
    return sorted(notices, key=lambda n: n.state != "active")


def upcoming(s: Session, zone: Zone | None, *, limit: int = 8) -> list[Upcoming]:
    """The next public airings in ``zone`` (None: anywhere) within a week, soonest first: the
    programme's items and the bulletins sent ahead for a later time."""
    at = now()
    members = _zone_nodes(s, zone)
    found = [
        o
        for o in expand(
            programme.load(s), at, at + timedelta(days=UPCOMING_DAYS), programme.zone_nodes(s)
        )
        if members is None or members & set(o.node_ids)
    ]
    shown = set(
        s.scalars(
            select(Bulletin.id).where(Bulletin.id.in_({o.bulletin_id for o in found}), listed())
        )
    )
    planned = [Upcoming(o.start, o.title) for o in found if o.bulletin_id in shown]
    query = (
        select(Bulletin.title, Bulletin.play_at)
        .join(Delivery, Delivery.bulletin_id == Bulletin.id)
        .where(
            Bulletin.play_at > at,
            Bulletin.play_at < at + timedelta(days=UPCOMING_DAYS),
            Delivery.status.in_(WAITING),
            listed(),
        )
        .distinct()
    )
    if zone is not None:
        query = query.join(Node, Delivery.node_id == Node.id).where(Node.zone_id == zone.id)
    timed = [Upcoming(_aware(when), title) for title, when in s.execute(query).all() if when]
    return sorted([*planned, *timed], key=lambda u: u.at)[:limit]


def regular(s: Session, zone: Zone | None) -> list[Regular]:
    """The programme's slots that air in ``zone`` (None: all of them), by time of day."""
    slots = programme.load(s).slots
    return sorted(
        (
            Regular(slot.name, slot.start, tuple(sorted(slot.weekdays)))
            for slot in slots
            if zone is None or zone.code in slot.zones
        ),
        key=lambda r: (r.start, r.name),
    )


def _zone_nodes(s: Session, zone: Zone | None) -> set[str] | None:
    if zone is None:
        return None
    return set(s.scalars(select(Node.id).where(Node.zone_id == zone.id)))


def _spoken_text(bulletin: Bulletin) -> str:
    tts = (bulletin.processing_report or {}).get("tts") or {}
    text = tts.get("text", "") if isinstance(tts, dict) else ""
    return text if isinstance(text, str) else ""


def _aware(at: datetime) -> datetime:
    """Aggregates bypass the column type: SQLite hands them back without their zone."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)
