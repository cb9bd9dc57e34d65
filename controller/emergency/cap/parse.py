"""Parse untrusted CAP 1.2 XML into `CapAlert`, refusing anything malformed with a `CapError`.

Only `defusedxml` touches the bytes: CAP arrives from the network, and the stdlib parser would
expand entity bombs ("billion laughs") or follow external entities. CAP never needs a DTD, so any
DTD at all is refused.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import get_args
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from controller.emergency.cap.models import (
    CAP_NS,
    CapAlert,
    CapArea,
    CapError,
    CapInfo,
    CapKey,
    Category,
    Certainty,
    LatLon,
    MsgType,
    Scope,
    Severity,
    Status,
    Urgency,
)

_NS = "{" + CAP_NS + "}"


def parse_xml(xml: bytes) -> Element:
    """Parse bytes safely; malformed XML and DTD/entity tricks become `CapError`."""
    try:
        root: Element = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except ParseError as exc:
        line, col = exc.position
        # expat's message repeats the position ("mismatched tag: line 2, column 15"); drop it.
        reason = str(exc.msg).split(": line ")[0]
        raise CapError(f"malformed XML at line {line}, column {col}: {reason}") from exc
    except DefusedXmlException as exc:
        raise CapError(
            f"refused unsafe XML (DTD or entities are not allowed in CAP): {exc}"
        ) from exc
    return root


def check_alert_root(root: Element) -> None:
    """Raise unless `root` is a CAP 1.2 <alert>; names the namespace we got when it is wrong."""
    ns, _, local = root.tag.rpartition("}")
    ns = ns.lstrip("{")
    if local != "alert":
        raise CapError(f"root element is <{local}>, expected CAP <alert>")
    if ns != CAP_NS:
        got = ns or "no namespace"
        raise CapError(f"unsupported namespace {got!r}: only CAP 1.2 ({CAP_NS}) is accepted")


def parse_cap(xml: bytes) -> CapAlert:
    """Parse one CAP 1.2 document. Raises `CapError` naming the first problem found."""
    root = parse_xml(xml)
    check_alert_root(root)
    msg_type = _enum(root, "msgType", get_args(MsgType), "alert")
    return CapAlert(
        identifier=_required(root, "identifier", "alert"),
        sender=_required(root, "sender", "alert"),
        sent=_datetime(_required(root, "sent", "alert"), "alert/sent"),
        status=_enum(root, "status", get_args(Status), "alert"),
        msg_type=msg_type,
        scope=_enum(root, "scope", get_args(Scope), "alert"),
        note=_text(root, "note"),
        references=_references(_text(root, "references")),
        infos=[_info(el, i) for i, el in enumerate(root.findall(_NS + "info"))],
    )


def _text(el: Element, name: str) -> str | None:
    child = el.find(_NS + name)
    if child is None or child.text is None or not child.text.strip():
        return None
    return child.text.strip()


def _required(el: Element, name: str, where: str) -> str:
    value = _text(el, name)
    if value is None:
        raise CapError(f"missing required element <{name}> in {where}")
    return value


def _enum(el: Element, name: str, allowed: tuple[str, ...], where: str) -> str:
    value = _required(el, name, where)
    if value not in allowed:
        raise CapError(
            f"invalid <{name}> {value!r} in {where}; expected one of {', '.join(allowed)}"
        )
    return value


def _datetime(value: str, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CapError(f"bad datetime {value!r} in {where}") from exc
    # CAP requires an explicit offset; guessing one would shift an alert by hours.
    if parsed.tzinfo is None:
        raise CapError(f"datetime {value!r} in {where} has no time-zone offset")
    return parsed


def _references(value: str | None) -> list[CapKey]:
    if value is None:
        return []
    refs: list[CapKey] = []
    for triple in value.split():
        parts = triple.split(",")
        if len(parts) != 3 or not all(parts):
            raise CapError(f"bad <references> entry {triple!r}; expected sender,identifier,sent")
        refs.append((parts[0], parts[1], _datetime(parts[2], "alert/references")))
    return refs


def _info(el: Element, index: int) -> CapInfo:
    where = f"info[{index}]"
    categories = [c.text.strip() for c in el.findall(_NS + "category") if c.text and c.text.strip()]
    if not categories:
        raise CapError(f"missing required element <category> in {where}")
    for cat in categories:
        if cat not in get_args(Category):
            raise CapError(f"invalid <category> {cat!r} in {where}")
    parameters: dict[str, str] = {}
    for name, value in _pairs(el, "parameter", where):
        parameters.setdefault(name, value)
    return CapInfo(
        language=_text(el, "language") or "en-US",
        categories=categories,  # checked against Category above
        event=_required(el, "event", where),
        urgency=_enum(el, "urgency", get_args(Urgency), where),
        severity=_enum(el, "severity", get_args(Severity), where),
        certainty=_enum(el, "certainty", get_args(Certainty), where),
        headline=_text(el, "headline"),
        description=_text(el, "description"),
        instruction=_text(el, "instruction"),
        effective=_opt_datetime(el, "effective", where),
        onset=_opt_datetime(el, "onset", where),
        expires=_opt_datetime(el, "expires", where),
        sender_name=_text(el, "senderName"),
        web=_text(el, "web"),
        parameters=parameters,
        areas=[_area(a, f"{where}/area[{i}]") for i, a in enumerate(el.findall(_NS + "area"))],
    )


def _opt_datetime(el: Element, name: str, where: str) -> datetime | None:
    value = _text(el, name)
    return None if value is None else _datetime(value, f"{where}/{name}")


def _pairs(el: Element, name: str, where: str) -> list[tuple[str, str]]:
    pairs = []
    for child in el.findall(_NS + name):
        value_name = _text(child, "valueName")
        value = _text(child, "value")
        if value_name is None or value is None:
            raise CapError(f"<{name}> in {where} needs both <valueName> and <value>")
        pairs.append((value_name, value))
    return pairs


def _area(el: Element, where: str) -> CapArea:
    return CapArea(
        area_desc=_required(el, "areaDesc", where),
        polygons=[_polygon(p.text or "", where) for p in el.findall(_NS + "polygon")],
        circles=[_circle(c.text or "", where) for c in el.findall(_NS + "circle")],
        geocodes=_pairs(el, "geocode", where),
    )


def _point(text: str, where: str) -> LatLon:
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise CapError(f"bad coordinate pair {text!r} in {where}; expected lat,lon") from exc
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise CapError(f"coordinate {text!r} out of range in {where}")
    return (lat, lon)


def _polygon(text: str, where: str) -> list[LatLon]:
    points = [_point(p, f"{where}/polygon") for p in text.split()]
    # CAP 1.2 §3.3.2: at least four pairs, the first and last the same.
    if len(points) < 4:
        raise CapError(f"bad <polygon> in {where}: needs at least 4 points, got {len(points)}")
    if points[0] != points[-1]:
        raise CapError(f"bad <polygon> in {where}: first and last points must be the same")
    return points


def _circle(text: str, where: str) -> tuple[float, float, float]:
    parts = text.split()
    if len(parts) != 2:
        raise CapError(f"bad <circle> {text.strip()!r} in {where}; expected 'lat,lon radius_km'")
    lat, lon = _point(parts[0], f"{where}/circle")
    try:
        radius = float(parts[1])
    except ValueError as exc:
        raise CapError(f"bad <circle> radius {parts[1]!r} in {where}") from exc
    if not (math.isfinite(radius) and radius >= 0):
        raise CapError(f"bad <circle> radius {parts[1]!r} in {where}; must be >= 0 km")
    return (lat, lon, radius)
