"""The relay form (tiếp âm): posted text to a :class:`schedules.RelayItem`, or the errors to show
next to each field. Only the shape is checked here; the stream address, the villages and a
window meeting another relay's are the store's to refuse (controller/relay/store.py), and
:func:`field_of` says beside which field its refusal goes.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from controller.errors import DomainError
from controller.web.repeat_form import Errors, RepeatForm, parse_time, recurrence_from_form
from controller.web.repeat_form import recurrence_values as repeat_values
from schedules import RelayItem
from schedules.relay import MAX_WINDOW_S

# The store's field names (its own, the targets', the model's) → the form's.
FIELDS = {
    "title": "title",
    "url": "url",
    "zones": "zones",
    "nodes": "zones",
    "targets": "zones",
    "start": "start",
    "duration_s": "end",
    "recurrence": "date",
}


@dataclass(frozen=True)
class RelayForm:
    title: str = ""
    url: str = ""
    start: str = ""
    end: str = ""
    repeat: RepeatForm = field(default_factory=RepeatForm)
    zones: tuple[str, ...] = ()


def new_relay_id(title: str) -> str:
    """ "Thời sự trưa" → "thoi-su-trua-3f9a1c": readable in the API and the logs."""
    plain = unicodedata.normalize("NFKD", title.lower().replace("đ", "d"))
    base = re.sub(r"[^a-z0-9]+", "-", plain.encode("ascii", "ignore").decode()).strip("-")
    return f"{base[:40] or 'tiep-am'}-{uuid.uuid4().hex[:6]}"


def window_seconds(start: dt.time, end: dt.time) -> int:
    """From start to end (local times); an end before the start is the next day."""
    seconds = (end.hour * 3600 + end.minute * 60) - (start.hour * 3600 + start.minute * 60)
    return seconds % 86400


def relay_from_form(
    form: RelayForm, relay_id: str, kept: RelayItem | None = None
) -> tuple[RelayItem | None, Errors]:
    """The relay the form says; ``kept`` is the relay being changed, whose points chosen one by
    one (through the API) and time zone the form does not show, so they stay as they were."""
    errors: Errors = {}
    title, url = form.title.strip(), form.url.strip()
    if not title:
        errors["title"] = "relays.error.no_title"
    if not url:
        errors["url"] = "relays.error.no_url"
    start, end = parse_time(form.start), parse_time(form.end)
    if start is None:
        errors["start"] = "setup.error.bad_time"
    if end is None:
        errors["end"] = "setup.error.bad_time"
    length = window_seconds(start, end) if start and end else 0
    if start and end and length == 0:
        errors["end"] = "relays.error.empty_window"
    elif length > MAX_WINDOW_S:
        errors["end"] = "relays.error.too_long"
    nodes = list(kept.nodes) if kept else []
    if not form.zones and not nodes:
        errors["zones"] = "setup.error.no_zones"
    recurrence, repeat_errors = recurrence_from_form(form.repeat, start)
    errors.update(repeat_errors)
    if recurrence and recurrence.end_date and recurrence.end_date < recurrence.start_date:
        errors["until"] = "relays.error.until_before"
    if errors or recurrence is None:
        return None, errors
    extra = {"timezone": kept.timezone} if kept else {}
    try:
        item = RelayItem(
            id=relay_id,
            title=title,
            url=url,
            duration_s=length,
            recurrence=recurrence,
            zones=sorted(set(form.zones)),
            nodes=nodes,
            **extra,
        )
    except ValidationError:  # the shape was checked above; a model rule added later lands here
        return None, {"title": "relays.error.invalid"}
    return item, {}


def relay_values(item: RelayItem) -> dict[str, Any]:
    """The form's fields for an existing relay."""
    rec = item.recurrence
    assert rec.at is not None  # a relay always has its start time
    end = dt.datetime.combine(dt.date.min, rec.at) + dt.timedelta(seconds=item.duration_s)
    return {
        "title": item.title,
        "url": item.url,
        "start": f"{rec.at:%H:%M}",
        "end": f"{end:%H:%M}",
        **repeat_values(rec),
        "zones": list(item.zones),
        "nodes": list(item.nodes),
    }


def relay_where(item: RelayItem, zone_names: Mapping[str, str], t: Callable[..., str]) -> str:
    """Where a relay plays, as the list shows it: its villages by name, then how many points
    it was given one by one (a relay may have both)."""
    parts = [zone_names.get(z, z) for z in item.zones]
    if item.nodes:
        parts.append(t("relays.points", count=len(item.nodes)))
    return ", ".join(parts)


def form_values(form: RelayForm, nodes: list[str]) -> dict[str, Any]:
    """What was typed, to show again beside a refusal."""
    r = form.repeat
    return {
        "title": form.title,
        "url": form.url,
        "start": form.start,
        "end": form.end,
        "repeat": r.repeat,
        "date": r.date,
        "weekdays": list(r.weekdays),
        "month_days": r.month_days,
        "until": r.until,
        "zones": list(form.zones),
        "nodes": nodes,
    }


def field_of(error: DomainError) -> str:
    """The form field a store refusal belongs beside ("" for the top of the form)."""
    where = (error.field or "").split(".", 1)[0]
    return FIELDS.get(where, "")
