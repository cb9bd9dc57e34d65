"""Notifications in the database: made in the same transaction as the event they tell of, so a
refused or rolled-back decision tells nobody anything."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from controller.models import Bulletin, Notification, User, now
from controller.permissions import PERMISSIONS

RETENTION = timedelta(days=90)
LIST_LIMIT = 100


def waiting_review(s: Session, bulletin: Bulletin, submitter: User) -> None:
    """Every active account that may approve learns a bulletin waits, its author excepted
    (nobody approves their own)."""
    reviewers = s.scalars(
        select(User.id).where(
            User.active.is_(True),
            User.role.in_(PERMISSIONS["review"]),
            User.id != submitter.id,
        )
    )
    for user_id in reviewers:
        s.add(_about(bulletin, user_id, "review"))


def approved(s: Session, bulletin: Bulletin) -> None:
    s.add(_about(bulletin, bulletin.created_by, "approved"))


def rejected(s: Session, bulletin: Bulletin, reason: str) -> None:
    s.add(_about(bulletin, bulletin.created_by, "rejected", detail=reason))


def not_played(s: Session, bulletin: Bulletin, points: int) -> None:
    """``points`` more points did not play the bulletin: added to an unread notice about it
    if its author has one, so a pass that expires points one by one makes one line."""
    unread = s.scalar(
        select(Notification).where(
            Notification.user_id == bulletin.created_by,
            Notification.bulletin_id == bulletin.id,
            Notification.kind == "not_played",
            Notification.read_at.is_(None),
        )
    )
    if unread is not None:
        unread.count += points
        return
    s.add(_about(bulletin, bulletin.created_by, "not_played", count=points))


def _about(
    bulletin: Bulletin, user_id: int, kind: str, *, detail: str = "", count: int = 0
) -> Notification:
    return Notification(
        user_id=user_id,
        kind=kind,
        bulletin_id=bulletin.id,
        title=bulletin.title,
        detail=detail,
        count=count,
        created_at=now(),
    )


def unread_count(s: Session, user_id: int) -> int:
    query = select(func.count()).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return s.scalar(query) or 0


def list_for(s: Session, user_id: int, *, limit: int = LIST_LIMIT) -> Sequence[Notification]:
    """The user's newest notifications, unread and read alike."""
    return s.scalars(
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    ).all()


def mark_read(s: Session, user_id: int, notification_id: int | None = None) -> Notification | None:
    """Mark one of the user's notifications read (returned; None if it is not theirs), or all
    of them when no id is given."""
    if notification_id is None:
        s.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=now())
        )
        return None
    found = s.get(Notification, notification_id)
    if found is None or found.user_id != user_id:
        return None
    found.read_at = found.read_at or now()
    return found


def prune(s: Session, *, before: datetime | None = None) -> int:
    """Delete notifications older than the retention; returns how many."""
    cutoff = before if before is not None else now() - RETENTION
    result = s.execute(delete(Notification).where(Notification.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
