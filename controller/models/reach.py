"""Reaching villagers beyond the loudspeakers: alert channel messages, SMS subscriptions and
the villagers' fault reports."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controller.models.base import Base, now

if TYPE_CHECKING:
    from controller.models import Node, Zone


class ChannelMessage(Base):
    """An alert on one channel to one recipient (an SMS subscription, a Zalo follower, a board),
    sent in the background after the alert's commit and tried again until it goes or fails."""

    __tablename__ = "channel_messages"
    # the worker's scan: a channel's pending messages, the soonest due first
    __table_args__ = (
        Index("ix_channel_messages_channel_status_due", "channel", "status", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a subscription's confirmation code (its body is blanked once settled)
    alert_id: Mapped[str | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | zalo | board
    # sms: the subscription's id (never the number); zalo: a user_id; board: a URL or "mqtt"
    recipient: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    parts: Mapped[int] = mapped_column(Integer, default=1)  # SMS parts, 1 for other channels
    shortened: Mapped[bool] = mapped_column(default=False)  # cut at a word to fit (said so)
    status: Mapped[str] = mapped_column(
        String(16), default="pending"
    )  # pending|sent|failed|cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(default=now)
    reason: Mapped[str] = mapped_column(Text, default="")  # the last failure's
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)


class SmsSubscription(Base):
    """A phone number that receives a village's alerts by SMS. The number is stored encrypted
    (``number_sealed``) with a keyed hash (``number_hash``) to find it; see channels/vault.py."""

    __tablename__ = "sms_subscriptions"
    __table_args__ = (UniqueConstraint("zone_id", "number_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), index=True)
    number_hash: Mapped[str] = mapped_column(String(64), index=True)
    number_sealed: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|active|ended
    # consent: how (sms-code | paper | verbal), recorded by whom (a user, or "villager"), when
    consent_method: Mapped[str] = mapped_column(String(16), default="")
    consent_by: Mapped[str] = mapped_column(String(64), default="")
    consent_at: Mapped[datetime | None]
    code_hash: Mapped[str] = mapped_column(String(64), default="")  # the pending confirmation
    code_expires_at: Mapped[datetime | None]
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[datetime | None]
    ended_how: Mapped[str] = mapped_column(String(32), default="")  # link | keyword | admin
    created_at: Mapped[datetime] = mapped_column(default=now)
    zone: Mapped[Zone] = relationship()


class SubscribeAttempt(Base):
    """A subscription asked for on the public page, counted per address and per number."""

    __tablename__ = "subscribe_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    number_hash: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)


class FaultReport(Base):
    """A villager's report of a loudspeaker that does not work, sent from the public page."""

    __tablename__ = "fault_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), index=True)
    node_id: Mapped[str | None] = mapped_column(ForeignKey("nodes.id"), index=True)  # None: unsure
    problem: Mapped[str] = mapped_column(String(16))  # silent | noisy | odd_time | stuck_on
    note: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    # A keyed hash of the sender's address: enough to count their reports, not to find them.
    sender: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    zone: Mapped[Zone] = relationship()
    node: Mapped[Node | None] = relationship()
