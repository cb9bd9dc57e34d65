"""The programme model: slots, items, recurrences, quiet hours (pure pydantic, no I/O).

Naive times and dates are local to ``Programme.timezone`` (Asia/Ho_Chi_Minh by default).
Emergency items are *rejected* in a Programme: they play at once and the controller sends
them directly, so they never take a place in the programme.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
    model_validator,
)

from protocol.messages import Priority

# Vietnam keeps one time zone (UTC+7, no daylight saving): the commune's calendar, the times the
# UI shows and the default zone of a programme.
LOCAL_TZ_NAME = "Asia/Ho_Chi_Minh"
LOCAL = ZoneInfo(LOCAL_TZ_NAME)

# Thông tư 39/2020/TT-BTTTT names the first three; filler ("đệm") plays below normal.
_LABELS_VI: dict[str, str] = {
    "emergency": "khẩn cấp",
    "priority": "ưu tiên",
    "normal": "thông thường",
    "filler": "chương trình đệm",
}
# Order of play inside a slot; emergency never reaches a slot but gets a rank for completeness.
PRIORITY_RANK: dict[str, int] = {"emergency": 0, "priority": 1, "normal": 2, "filler": 3}
ALL_WEEKDAYS: frozenset[int] = frozenset(range(7))

# Ids end up inside play ids (``{item_id}.{YYYYMMDD}``), which the node uses as keys: keep them
# short and in a safe alphabet so the play id stays <= 80 chars and matches the same pattern.
Ident = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]+$", min_length=1, max_length=70)
]
Weekday = Annotated[int, Field(ge=0, le=6)]
MonthDay = Annotated[int, Field(ge=1, le=31)]


def priority_label_vi(priority: Priority) -> str:
    """Vietnamese label for a priority, as the web UI shows it."""
    return _LABELS_VI[priority]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Slot(_Frozen):
    """A fixed window aired on chosen weekdays, e.g. "Bản tin sáng" at 06:00."""

    id: Ident = Field(description="Stable slot id, used by items to refer to the slot.")
    name: str = Field(min_length=1, description="Display name, e.g. 'Bản tin sáng'.")
    start: dt.time = Field(description="Local start time of the slot.")
    max_length_s: int = Field(gt=0, description="Longest the slot may run, seconds.")
    weekdays: frozenset[Weekday] = Field(
        default=ALL_WEEKDAYS, min_length=1, description="0=Monday..6=Sunday; all seven = daily."
    )
    zones: list[str] = Field(default_factory=list, description="Zone codes the slot targets.")
    gap_s: float = Field(default=2.0, ge=0, description="Silence between items, seconds.")

    @field_serializer("weekdays")
    def _sorted_weekdays(self, v: frozenset[int]) -> list[int]:
        return sorted(v)  # stable JSON for diffs


# The last date a recurrence may name: a year before the calendar ends, so that every window
# the programme computes from it (a conflict check's horizon, a day's airings) still fits.
LAST_DATE = dt.date.max - dt.timedelta(days=366)


class Recurrence(_Frozen):
    """On which local dates an item airs (and at what time, for items outside a slot).

    ``end_date`` before ``start_date`` is accepted by the model so that ``check_item`` can report
    it as a ``bad_recurrence`` conflict to the user; such a recurrence has no dates.
    """

    kind: Literal["once", "daily", "weekly", "monthly"] = Field(description="Repeat rule.")
    start_date: dt.date = Field(
        le=LAST_DATE, description="First local date (the only one for 'once')."
    )
    end_date: dt.date | None = Field(
        default=None, le=LAST_DATE, description="Last local date, inclusive."
    )
    weekdays: frozenset[Weekday] | None = Field(
        default=None, description="For 'weekly': 0=Monday..6=Sunday."
    )
    month_days: frozenset[MonthDay] | None = Field(
        default=None, description="For 'monthly': 1..31; a day missing in a month is skipped."
    )
    at: dt.time | None = Field(default=None, description="Local time, for items not in a slot.")

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Recurrence:
        if self.kind == "weekly" and not self.weekdays:
            raise ValueError("a weekly recurrence needs weekdays")
        if self.kind == "monthly" and not self.month_days:
            raise ValueError("a monthly recurrence needs month_days")
        if self.kind != "weekly" and self.weekdays is not None:
            raise ValueError(f"weekdays only apply to weekly recurrences, not {self.kind!r}")
        if self.kind != "monthly" and self.month_days is not None:
            raise ValueError(f"month_days only apply to monthly recurrences, not {self.kind!r}")
        return self

    @field_serializer("weekdays", "month_days")
    def _sorted_sets(self, v: frozenset[int] | None) -> list[int] | None:
        return None if v is None else sorted(v)

    def occurs_on(self, day: dt.date) -> bool:
        """True if the item airs on local date ``day``."""
        if day < self.start_date or (self.end_date is not None and day > self.end_date):
            return False
        if self.kind == "once":
            return day == self.start_date
        if self.kind == "weekly":
            return self.weekdays is not None and day.weekday() in self.weekdays
        if self.kind == "monthly":
            # 31 never matches a 30-day month: skipped, not moved to the 30th.
            return self.month_days is not None and day.day in self.month_days
        return True

    def dates(self, first: dt.date, last: dt.date) -> Iterator[dt.date]:
        """Airing dates in [first, last], both inclusive, in order."""
        day = max(first, self.start_date)
        stop = last if self.end_date is None else min(last, self.end_date)
        while day <= stop:
            if self.occurs_on(day):
                yield day
            day += dt.timedelta(days=1)


class ProgrammeItem(_Frozen):
    """One bulletin placed in the programme: in a slot (by position) or at a time."""

    id: Ident = Field(description="Stable item id; play ids derive from it.")
    bulletin_id: str = Field(min_length=1, description="The bulletin (audio) this item airs.")
    title: str = Field(description="Title shown in the programme.")
    duration_s: float = Field(gt=0, description="Length of the audio, seconds.")
    priority: Priority = Field(default="normal", description="Priority (TT 39/2020) or filler.")
    slot_id: str | None = Field(default=None, description="Slot the item airs in, if any.")
    position: int = Field(default=0, description="Order within the slot (within its priority).")
    recurrence: Recurrence = Field(description="Dates (and, outside a slot, the time) it airs.")
    zones: list[str] = Field(default_factory=list, description="Target zone codes.")
    nodes: list[str] = Field(default_factory=list, description="Target node ids.")

    @model_validator(mode="after")
    def _placement(self) -> ProgrammeItem:
        if self.slot_id is not None and self.recurrence.at is not None:
            raise ValueError(
                f"item {self.id!r} is in slot {self.slot_id!r}: recurrence.at must be unset"
            )
        if self.slot_id is None:
            if self.recurrence.at is None:
                raise ValueError(f"item {self.id!r} has no slot_id: recurrence.at is required")
            if not self.zones and not self.nodes:
                raise ValueError(f"item {self.id!r} has no slot: give zones and/or nodes")
        return self


class QuietHours(_Frozen):
    """Local window in which only emergencies play; may wrap midnight (21:30–05:00)."""

    start: dt.time = Field(description="Local time quiet hours begin.")
    end: dt.time = Field(description="Local time quiet hours end (exclusive).")

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet hours start and end must differ")
        return self


class Programme(_Frozen):
    """A commune's whole programme."""

    slots: list[Slot] = Field(default_factory=list, description="Daily/weekly slots.")
    items: list[ProgrammeItem] = Field(default_factory=list, description="Placed items.")
    quiet_hours: QuietHours | None = Field(default=None, description="Quiet window, if any.")
    timezone: str = Field(default=LOCAL_TZ_NAME, description="IANA zone for local times.")

    @model_validator(mode="after")
    def _consistent(self) -> Programme:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc
        _no_duplicates("slot", [s.id for s in self.slots])
        _no_duplicates("item", [i.id for i in self.items])
        slot_ids = {s.id for s in self.slots}
        for item in self.items:
            if item.priority == "emergency":
                raise ValueError(
                    f"item {item.id!r}: emergency items play at once, not in the programme"
                )
            if item.slot_id is not None and item.slot_id not in slot_ids:
                raise ValueError(f"item {item.id!r} refers to unknown slot {item.slot_id!r}")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def slot(self, slot_id: str) -> Slot | None:
        return next((s for s in self.slots if s.id == slot_id), None)


def _no_duplicates(kind: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"duplicate {kind} id {i!r}")
        seen.add(i)
