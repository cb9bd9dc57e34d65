"""A bulletin's request (where, when, priority) in words for the broadcaster and the approver,
and the choices the request form offers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller import programme
from controller.broadcast.approval import BroadcastRequest
from controller.models import Node, Zone
from controller.web.formatting import local_time
from controller.web.i18n import translate
from schedules import Recurrence


@dataclass(frozen=True)
class RequestWords:
    where: str
    when: str
    priority: str


def describe(s: Session, stored: dict[str, Any], lang: str) -> RequestWords | None:
    """``None`` for bulletins without a request (drafts, API bulletins)."""
    try:
        request = BroadcastRequest.model_validate(stored)
    except ValidationError:
        return None
    return RequestWords(
        where=_where(s, request, lang),
        when=_when(s, request, lang),
        priority=translate(f"priority.{request.priority}", lang).capitalize(),
    )


def _where(s: Session, request: BroadcastRequest, lang: str) -> str:
    where = request.where
    if where.all:
        return translate("request.where.all", lang)
    if where.zones:
        names = dict(s.execute(select(Zone.code, Zone.name)).all())
        return ", ".join(names.get(code, code) for code in where.zones)
    names = dict(s.execute(select(Node.id, Node.name)).all())
    return ", ".join(names.get(node, node) for node in where.nodes)


def _when(s: Session, request: BroadcastRequest, lang: str) -> str:
    when = request.when
    if when.kind == "now":
        return translate("request.when.now", lang)
    if when.kind == "at":
        return translate("request.when.at_time", lang, at=local_time(when.at))
    slot = programme.load(s).slot(when.slot_id or "")
    slot_name = f"{slot.name} ({slot.start:%H:%M})" if slot else (when.slot_id or "?")
    assert when.recurrence is not None
    return f"{slot_name}, {recurrence_words(when.recurrence, lang)}"


def day(value: date) -> str:
    return f"{value:%d/%m/%Y}"


def recurrence_words(rec: Recurrence, lang: str) -> str:
    if rec.kind == "once":
        return translate("request.repeat.once_on", lang, date=day(rec.start_date))
    days = ", ".join(translate(f"request.weekday.{d}", lang) for d in sorted(rec.weekdays or ()))
    text = translate(
        "request.repeat.daily_from" if rec.kind == "daily" else "request.repeat.weekly_from",
        lang,
        date=day(rec.start_date),
        days=days,
    )
    if rec.end_date:
        text += " " + translate("request.repeat.until", lang, date=day(rec.end_date))
    return text


def slot_choices(s: Session) -> list[dict[str, str]]:
    """The programme's slots as the form lists them: "Bản tin sáng 06:00"."""
    return [
        {"id": slot.id, "label": f"{slot.name} {slot.start:%H:%M}"}
        for slot in sorted(programme.load(s).slots, key=lambda x: x.start)
    ]


def zone_choices(s: Session) -> list[dict[str, Any]]:
    zones = s.scalars(select(Zone).order_by(Zone.name)).all()
    counts: dict[int, int] = {}
    for zone_id in s.scalars(select(Node.zone_id)):
        counts[zone_id] = counts.get(zone_id, 0) + 1
    return [{"code": z.code, "name": z.name, "nodes": counts.get(z.id, 0)} for z in zones]
