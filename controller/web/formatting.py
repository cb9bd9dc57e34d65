"""How times and durations read on the pages."""

from __future__ import annotations

from datetime import datetime

from schedules import LOCAL


def local_time(at: datetime | None, pattern: str = "%H:%M %d/%m/%Y") -> str:
    """Times are shown in Asia/Ho_Chi_Minh, the way Vietnamese write them (day first)."""
    return at.astimezone(LOCAL).strftime(pattern) if at else "–"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
