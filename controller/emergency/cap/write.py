"""Write a `CapAlert` as a CAP 1.2 document, the mirror of `parse.py`.

`parse_cap(write_cap(alert)) == alert` for any alert whose texts went through `clean_text` and
whose times are whole seconds: the tests hold both sides to it. Elements come in the order the
OASIS schema's sequences require; times carry an explicit offset and no fraction, as its
pattern demands.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from xml.etree.ElementTree import Element, SubElement, tostring

from controller.emergency.cap.models import CAP_NS, CapAlert, CapArea, CapError, CapInfo, CapKey

ICT = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh keeps no summer time: always +07:00
_NS = "{" + CAP_NS + "}"
# Characters XML 1.0 cannot carry at all: one of them would make the whole document unreadable.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# CAP 1.2 §3.2.1: sender and identifier hold no spaces, commas or restricted characters.
_TOKEN = re.compile(r"[^\s,<&]+")


def clean_text(text: str) -> str:
    """``text`` as a CAP document carries it back: characters XML cannot hold dropped, line
    ends as a parser reports them, outer blanks trimmed."""
    return _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def cap_time(moment: datetime) -> str:
    """A CAP time: whole seconds, +07:00 (``2026-11-23T14:00:00+07:00``)."""
    if moment.tzinfo is None:
        raise ValueError("a CAP time needs a time zone")
    return moment.astimezone(ICT).replace(microsecond=0).isoformat()


def cap_moment(moment: datetime) -> datetime:
    """``moment`` as a CAP document carries it: whole seconds, in +07:00."""
    return datetime.fromisoformat(cap_time(moment))


def reference(key: CapKey) -> str:
    sender, identifier, sent = key
    return f"{sender},{identifier},{cap_time(sent)}"


def write_cap(alert: CapAlert) -> bytes:
    """The UTF-8 CAP 1.2 document of ``alert``; `CapError` if its sender or identifier (or a
    reference's) could not be read back."""
    for token in (alert.sender, alert.identifier, *(p for r in alert.references for p in r[:2])):
        if not _TOKEN.fullmatch(token):
            raise CapError(f"{token!r} cannot be a CAP sender or identifier (spaces, ',<&')")
    root = Element(_NS + "alert")
    _add(root, "identifier", alert.identifier)
    _add(root, "sender", alert.sender)
    _add(root, "sent", cap_time(alert.sent))
    _add(root, "status", alert.status)
    _add(root, "msgType", alert.msg_type)
    _add(root, "scope", alert.scope)
    _add(root, "note", alert.note)
    if alert.references:
        _add(root, "references", " ".join(reference(r) for r in alert.references))
    for info in alert.infos:
        _info(SubElement(root, _NS + "info"), info)
    body = tostring(root, encoding="unicode", default_namespace=CAP_NS)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode()


def _add(parent: Element, name: str, value: str | None) -> None:
    if value is not None and (text := clean_text(value)):
        SubElement(parent, _NS + name).text = text


def _info(el: Element, info: CapInfo) -> None:
    _add(el, "language", info.language)
    for category in info.categories:
        _add(el, "category", category)
    _add(el, "event", info.event)
    _add(el, "urgency", info.urgency)
    _add(el, "severity", info.severity)
    _add(el, "certainty", info.certainty)
    for name in ("effective", "onset", "expires"):
        moment: datetime | None = getattr(info, name)
        if moment is not None:
            _add(el, name, cap_time(moment))
    _add(el, "senderName", info.sender_name)
    _add(el, "headline", info.headline)
    _add(el, "description", info.description)
    _add(el, "instruction", info.instruction)
    _add(el, "web", info.web)
    for value_name, value in info.parameters.items():
        _pair(el, "parameter", value_name, value)
    for area in info.areas:
        _area(SubElement(el, _NS + "area"), area)


def _pair(parent: Element, name: str, value_name: str, value: str) -> None:
    pair = SubElement(parent, _NS + name)
    _add(pair, "valueName", value_name)
    _add(pair, "value", value)


def _area(el: Element, area: CapArea) -> None:
    _add(el, "areaDesc", area.area_desc)
    for polygon in area.polygons:
        _add(el, "polygon", " ".join(f"{lat},{lon}" for lat, lon in polygon))
    for lat, lon, radius_km in area.circles:
        _add(el, "circle", f"{lat},{lon} {radius_km}")
    for value_name, value in area.geocodes:
        _pair(el, "geocode", value_name, value)
