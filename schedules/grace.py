"""The late-start rule: a slot missed while a node was off plays late only within a grace window."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple


class LateStart(NamedTuple):
    """Whether an airing may still start, how late it is, and why (English and Vietnamese)."""

    allowed: bool
    late_by_s: float
    reason: str
    reason_vi: str


def late_start_allowed(scheduled_start: dt.datetime, now: dt.datetime, grace: dt.timedelta) -> bool:
    """True if an airing due at ``scheduled_start`` may start at ``now``.

    Not yet due, or late by at most ``grace`` (inclusive) → allowed. Both datetimes must be aware.
    """
    return late_start(scheduled_start, now, grace).allowed


def late_start(scheduled_start: dt.datetime, now: dt.datetime, grace: dt.timedelta) -> LateStart:
    """The decision with its reason text, for the broadcast report."""
    if scheduled_start.tzinfo is None or now.tzinfo is None:
        raise ValueError("late_start: scheduled_start and now must be timezone-aware")
    if grace < dt.timedelta(0):
        raise ValueError(f"late_start: grace must not be negative, got {grace}")
    late = (now - scheduled_start).total_seconds()
    g = grace.total_seconds()
    if late <= 0:
        return LateStart(True, 0.0, "on time", "đúng giờ")
    if late <= g:
        return LateStart(
            True,
            late,
            f"started {late:.0f} s late, within the {g:.0f} s grace window",
            f"phát muộn {late:.0f} giây, trong thời gian cho phép {g:.0f} giây",
        )
    return LateStart(
        False,
        late,
        f"missed: node was {late:.0f} s late, beyond the {g:.0f} s grace window",
        f"bị lỡ: trễ {late:.0f} giây, quá thời gian cho phép {g:.0f} giây",
    )
