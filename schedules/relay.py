"""A relay (tiếp âm): a radio station aired for a window on an item's dates (pure model).

"VOV1 thời sự, hằng ngày 06:00–06:30" is ``RelayItem(recurrence=Recurrence(kind="daily",
start_date=..., at=06:00), duration_s=1800, ...)``. The recurrence is the programme's own, so a
relay repeats exactly as other items do; ``at`` is the window's local start. A window may run
past midnight; it belongs to the date it starts on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from schedules.model import LOCAL_TZ_NAME, Ident, Recurrence, _Frozen

MAX_WINDOW_S = 6 * 3600  # a live session's longest life (controller/live/session.MAX_SESSION)
# How far ahead two relays are compared for a clash: a year and a month, which holds every day of
# the week and of the month, so a daily, weekly or monthly pair that meets at all meets in it
# (bar the rare case of a monthly day meeting one weekday only once in years).
CLASH_HORIZON = dt.timedelta(days=400)


@dataclass(frozen=True)
class Window:
    """One airing of a relay, in aware datetimes (end exclusive)."""

    start: dt.datetime
    end: dt.datetime

    def covers(self, when: dt.datetime) -> bool:
        return self.start <= when < self.end


class RelayItem(_Frozen):
    id: Ident = Field(description="Stable relay id.")
    title: str = Field(min_length=1, max_length=300, description="e.g. 'VOV1 thời sự'.")
    url: str = Field(min_length=1, max_length=2000, description="Icecast/SHOUTcast or HLS URL.")
    duration_s: int = Field(gt=0, le=MAX_WINDOW_S, description="Length of the window, seconds.")
    recurrence: Recurrence = Field(description="Dates it airs; ``at`` is the local start.")
    zones: list[str] = Field(default_factory=list, description="Target zone codes.")
    nodes: list[str] = Field(default_factory=list, description="Target node ids.")
    timezone: str = Field(default=LOCAL_TZ_NAME, description="IANA zone of ``at``.")

    @model_validator(mode="after")
    def _placed(self) -> RelayItem:
        if self.recurrence.at is None:
            raise ValueError("a relay needs a start time (recurrence.at)")
        if not self.zones and not self.nodes:
            raise ValueError("a relay needs zones and/or nodes")
        return self

    def windows(self, first: dt.datetime, last: dt.datetime) -> list[Window]:
        """The windows that overlap [first, last] (aware datetimes), in order."""
        tz = ZoneInfo(self.timezone)
        assert self.recurrence.at is not None
        length = dt.timedelta(seconds=self.duration_s)
        # a window that started the day before may still be running at ``first``
        day0 = first.astimezone(tz).date() - dt.timedelta(days=1)
        out: list[Window] = []
        for day in self.recurrence.dates(day0, last.astimezone(tz).date()):
            start = dt.datetime.combine(day, self.recurrence.at, tzinfo=tz)
            if start + length > first and start <= last:
                out.append(Window(start, start + length))
        return out

    def window_at(self, when: dt.datetime) -> Window | None:
        """The window running at ``when``, if any."""
        return next((w for w in self.windows(when, when) if w.covers(when)), None)


def first_clash(a: RelayItem, b: RelayItem, since: dt.datetime) -> tuple[Window, Window] | None:
    """The first pair of windows of ``a`` and ``b`` that overlap after ``since`` (aware), if
    any: two stations cannot share a point at the same moment."""
    first = max(since, _day_start(a), _day_start(b))
    mine, theirs = a.windows(first, first + CLASH_HORIZON), b.windows(first, first + CLASH_HORIZON)
    i = j = 0
    while i < len(mine) and j < len(theirs):  # both in order: a merge walk
        x, y = mine[i], theirs[j]
        if x.start < y.end and y.start < x.end and x.end > since:
            return x, y
        if x.end <= y.end:
            i += 1
        else:
            j += 1
    return None


def _day_start(item: RelayItem) -> dt.datetime:
    return dt.datetime.combine(
        item.recurrence.start_date, dt.time(), tzinfo=ZoneInfo(item.timezone)
    )
