"""Relayed stations (tiếp âm): the relay items and each window as it aired."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from controller.models.base import Base, now


class Relay(Base):
    """A radio station relayed on schedule (tiếp âm): a stream URL aired for a window on the
    item's dates (``schedules.RelayItem`` is its pure form; controller/relay runs it)."""

    __tablename__ = "relays"
    id: Mapped[str] = mapped_column(String(70), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(2000))
    duration_s: Mapped[int]
    recurrence: Mapped[dict[str, Any]]  # schedules.Recurrence (its ``at``: the window's start)
    zones: Mapped[list[str]] = mapped_column(JSON, default=list)
    nodes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)


class RelayRun(Base):
    """One window of a relay as it aired: the live session it made, what it relayed, its gaps."""

    __tablename__ = "relay_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    relay_id: Mapped[str] = mapped_column(String(70), index=True)
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    play_id: Mapped[str | None] = mapped_column(String(80))
    bulletin_id: Mapped[str | None] = mapped_column(String(32))
    # running | finished | failed (it could not go live at all: ``reason`` says why)
    # | interrupted (the controller stopped mid-window; the rest of the window airs on restart)
    status: Mapped[str] = mapped_column(String(16), default="running")
    reason: Mapped[str] = mapped_column(Text, default="")
    seconds_relayed: Mapped[float] = mapped_column(default=0.0)
    seconds_filled: Mapped[float] = mapped_column(default=0.0)
    # [{"start": iso, "end": iso, "reason": "unreachable|ended|decode", "detail": str}]
    gaps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(default=now)
    ended_at: Mapped[datetime | None]
