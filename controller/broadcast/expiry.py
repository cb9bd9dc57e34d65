"""Unsent drafts do not pile up: a draft, or a rejected bulletin nobody sent again, is deleted
with its files once it has not moved for ``draft_expiry_days`` (the housekeeping job runs this).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from controller import audit
from controller.broadcast.editing import remove
from controller.config import ControllerConfig
from controller.models import Alert, Bulletin, Delivery, now

SYSTEM = "system"


def expire_drafts(s: Session, config: ControllerConfig) -> list[str]:
    """Delete what has lapsed; returns the deleted bulletins' ids. A draft's age counts from
    when it was made, a rejected bulletin's from its rejection."""
    cutoff = now() - timedelta(days=config.draft_expiry_days)
    stale = s.scalars(
        select(Bulletin).where(
            or_(
                and_(Bulletin.status == "draft", Bulletin.created_at < cutoff),
                and_(Bulletin.status == "rejected", Bulletin.reviewed_at < cutoff),
            ),
            ~exists().where(Delivery.bulletin_id == Bulletin.id),
            ~exists().where(Alert.bulletin_id == Bulletin.id),
        )
    ).all()
    for bulletin in stale:
        remove(s, config, bulletin)
        audit.record(
            s,
            SYSTEM,
            "bulletin.expire",
            bulletin.id,
            title=bulletin.title,
            status=bulletin.status,
            days=config.draft_expiry_days,
        )
    return [b.id for b in stale]
