"""The newsroom around a bulletin: its review history, message templates, notifications and
the browsers that take them by Web Push."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controller.models.base import Base, now

if TYPE_CHECKING:
    from controller.models import User


class BulletinReview(Base):
    """Every approval or rejection of a bulletin, kept when it is edited and sent again (the
    bulletin's own ``review_comment`` holds only the latest)."""

    __tablename__ = "bulletin_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[str] = mapped_column(ForeignKey("bulletins.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # approved | rejected
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=now)
    reviewer: Mapped[User] = relationship()


class MessageTemplate(Base):
    """A reusable text with named blanks: a notice for compose (``kind`` "notice") or an alert
    for the emergency page ("alert"). Each blank in ``body`` is its label in braces ("từ {Từ
    giờ} đến {Đến giờ}"), asked for in the order it first appears."""

    __tablename__ = "message_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # notice | alert
    name: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(default=now)


class Notification(Base):
    """Something a user should know (a bulletin waits for their review, theirs was approved or
    rejected, or did not play), made by the domain when it happens; read or not, pruned after
    ``notifications.RETENTION``. Titles are copied: a deleted draft leaves its words behind."""

    __tablename__ = "notifications"
    # a user's unread count on every page, and their list newest first
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))  # review | approved | rejected | not_played
    bulletin_id: Mapped[str | None] = mapped_column(String(32))  # no key: drafts get deleted
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")  # a rejection's reason
    count: Mapped[int] = mapped_column(Integer, default=0)  # points that did not play
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)
    read_at: Mapped[datetime | None]
    # Web Push: pending until the background sender has tried every subscription of the user
    pushed: Mapped[bool] = mapped_column(default=False, index=True)


class PushSubscription(Base):
    """A browser that asked for Web Push for its user: the push service's URL and the keys the
    message is encrypted with (RFC 8291). Removed when the push service says it is gone."""

    __tablename__ = "push_subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=now)
