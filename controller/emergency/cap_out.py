"""The commune's own alerts as CAP 1.2 messages, for provincial systems, e-boards and others.

Every alert that actually went out (API, web page, or a relayed CAP alert) is one message:
``Alert``, or ``Update`` referencing the alert(s) it replaces (a correction from the emergency
page, or a relayed CAP Update). An alert stopped before it lapsed has a second message, a
``Cancel`` referencing the first, sent when it was stopped. A message once
published never changes: a correction adds an Update and never takes back the Cancel that
stopped the original, so a poller that saw either arrives at the same state. Alerts waiting
for a second account, or withdrawn before they were sent, were never sent: they have none.

Everything here is derived from the alerts table: nothing is stored, so nothing can drift.
Only what is meant for the public is written: the alert's own words, its villages and times;
never an account's name, nor the reason typed when stopping it (the web page's reason names
the operator, and an API reason was never presented as public): a Cancel's note is fixed text,
and a correction's own words say what changed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controller.config import ControllerConfig
from controller.emergency.cap import CapAlert, CapArea, CapError, CapInfo, key_string, parse_cap
from controller.emergency.cap.area import village_area, village_radius_km
from controller.emergency.cap.atom import Entry, atom_feed
from controller.emergency.cap.models import CapKey
from controller.emergency.cap.write import cap_moment, clean_text
from controller.models import Alert, CapMessage, Node, Zone

FEED_PATH = "/api/v1/cap/alerts.atom"
FEED_SIZE = 50  # messages in the feed: months of a commune's alerts in some 40 kB at most
SUMMARY_CHARS = 280  # an entry's summary; the document has the whole text
LARGEST_CIRCLE_KM = 2.0  # a village without an outline reaches at most this far from its centre
STOPPED = ("cancelled", "superseded")
STOPPED_NOTE = "Đã dừng cảnh báo / alert stopped"
# A relayed drill or test keeps its status; a person reading only the feed's titles must see it.
NOT_REAL = {
    "Exercise": "Diễn tập / Exercise",
    "Test": "Thử nghiệm / Test",
    "System": "Hệ thống / System",
    "Draft": "Nháp / Draft",
}
# A commune's own alert says only "emergency": general public safety, severe, now (the pair our
# own CAP ingest maps to the emergency priority it aired with), likely rather than observed.
OWN_CATEGORY = "Safety"


@dataclass(frozen=True)
class Published:
    """One CAP message of the commune and where it is served."""

    alert_id: str
    cancel: bool
    cap: CapAlert
    at: datetime  # when it was sent, to the microsecond: orders messages sent in one second

    @property
    def path(self) -> str:
        return f"/api/v1/cap/alerts/{self.alert_id}{'/cancel' if self.cancel else ''}.xml"


def identifier(config: ControllerConfig, alert_id: str, *, cancel: bool = False) -> str:
    return f"{config.cap_sender_id}/alert/{alert_id}{'/cancel' if cancel else ''}"


def message(s: Session, config: ControllerConfig, alert_id: str, *, cancel: bool) -> Published:
    """The alert's message (or its Cancel); `LookupError` if it was never published."""
    alert = s.get(Alert, alert_id)
    if alert is None or alert.sent_at is None:
        raise LookupError(f"no alert {alert_id} was sent")
    if cancel and not _stopped(alert):
        raise LookupError(f"alert {alert_id} was not cancelled")
    return _publish(s, config, alert, cancel=cancel, areas=_areas(s, [alert]))


def latest(s: Session, config: ControllerConfig, limit: int = FEED_SIZE) -> list[Published]:
    """The newest ``limit`` messages, newest first."""
    # An alert's latest message is its Cancel if any: the newest ``limit`` alerts by that hold
    # the newest ``limit`` messages.
    last = func.coalesce(Alert.cancelled_at, Alert.sent_at)
    rows = list(
        s.scalars(
            select(Alert).where(Alert.sent_at.is_not(None)).order_by(last.desc()).limit(limit)
        )
    )
    areas = _areas(s, rows)
    found = [_publish(s, config, a, cancel=False, areas=areas) for a in rows]
    found += [_publish(s, config, a, cancel=True, areas=areas) for a in rows if _stopped(a)]
    found.sort(key=lambda p: (p.at, p.cancel), reverse=True)
    return found[:limit]


def feed(config: ControllerConfig, items: list[Published]) -> bytes:
    """The Atom feed of ``items`` (`latest`), each entry linking to its CAP document."""
    base = config.web_url
    entries = []
    for item in items:
        info = item.cap.infos[0]
        marker = f"[{NOT_REAL[item.cap.status]}] " if item.cap.status in NOT_REAL else ""
        entries.append(
            Entry(
                url=base + item.path,
                title=marker + (info.headline or info.event),
                summary=_short(info.description or info.headline or info.event),
                updated=item.cap.sent,
                author=info.sender_name or config.commune_name,
            )
        )
    return atom_feed(
        feed_url=base + FEED_PATH,
        page_url=base + "/listen",
        title=f"Cảnh báo khẩn cấp – {config.commune_name}",
        author=config.commune_name,
        entries=entries,
    )


def _short(text: str) -> str:
    """At most ``SUMMARY_CHARS``, cut at a word: the whole text is in the document, and a feed
    of fifty long alerts would be slow to poll over 2G."""
    if len(text) <= SUMMARY_CHARS:
        return text
    return text[:SUMMARY_CHARS].rsplit(None, 1)[0].rstrip(".,;:") + "…"


def _stopped(alert: Alert) -> bool:
    return alert.state in STOPPED and alert.cancelled_at is not None


def _publish(
    s: Session,
    config: ControllerConfig,
    alert: Alert,
    *,
    cancel: bool,
    areas: dict[str, list[CapArea]],
) -> Published:
    assert alert.sent_at is not None  # only sent alerts reach here
    relayed = _relayed(s, alert)
    infos = _infos(config, alert, relayed, areas.get(alert.id, []))
    own_key = (config.cap_sender_id, identifier(config, alert.id), cap_moment(alert.sent_at))
    if cancel:
        assert alert.cancelled_at is not None
        cap = CapAlert(
            identifier=identifier(config, alert.id, cancel=True),
            sender=config.cap_sender_id,
            sent=cap_moment(alert.cancelled_at),
            status=relayed.status if relayed else "Actual",
            msg_type="Cancel",
            scope="Public",
            note=STOPPED_NOTE,
            references=[own_key],
            infos=[_cancelled(i) for i in infos],
        )
        return Published(alert.id, True, cap, alert.cancelled_at)
    earlier = _earlier(s, config, alert, relayed)
    cap = CapAlert(
        identifier=own_key[1],
        sender=own_key[0],
        sent=own_key[2],
        status=relayed.status if relayed else "Actual",
        msg_type="Update" if earlier else "Alert",
        scope="Public",
        note=f"Chuyển tiếp / relayed: {relayed.sender} {relayed.identifier}" if relayed else None,
        references=earlier,
        infos=infos,
    )
    return Published(alert.id, False, cap, alert.sent_at)


def _relayed(s: Session, alert: Alert) -> CapAlert | None:
    """The CAP message a relayed alert came from, as received."""
    if alert.cap_key is None:
        return None
    received = s.get(CapMessage, alert.cap_key)
    if received is None:
        return None
    try:
        return parse_cap(received.xml.encode())
    except CapError:  # it was parsed when it arrived; a stored copy that no longer parses
        return None  # is described as the commune's own alert rather than not at all


def _earlier(
    s: Session, config: ControllerConfig, alert: Alert, relayed: CapAlert | None
) -> list[CapKey]:
    """Our messages of the sent alerts this one replaces: a correction's original, or the
    relayed alerts a relayed CAP Update replaced."""
    if relayed is not None:
        keys = [key_string(r) for r in relayed.references]
        query = select(Alert).where(Alert.cap_key.in_(keys)) if keys else None
    elif alert.replaces is not None:
        query = select(Alert).where(Alert.id == alert.replaces)
    else:
        query = None
    if query is None:
        return []
    found = s.scalars(query.where(Alert.sent_at.is_not(None)).order_by(Alert.sent_at))
    return [
        (config.cap_sender_id, identifier(config, a.id), cap_moment(a.sent_at))
        for a in found
        if a.sent_at is not None
    ]


def _infos(
    config: ControllerConfig, alert: Alert, relayed: CapAlert | None, areas: list[CapArea]
) -> list[CapInfo]:
    """Vietnamese first (and English when the relayed alert had it), for our villages."""
    ours = {
        "expires": cap_moment(alert.expires_at),
        "sender_name": config.commune_name,
        "web": config.web_url + "/listen",
        "areas": areas,
    }
    if relayed is not None and relayed.infos:
        kept = [i for i in relayed.infos if _lang(i).startswith(("vi", "en"))] or relayed.infos[:1]
        kept.sort(key=lambda i: not _lang(i).startswith("vi"))
        return [
            i.model_copy(
                update={
                    **ours,
                    "effective": i.effective and cap_moment(i.effective),
                    "onset": i.onset and cap_moment(i.onset),
                }
            )
            for i in kept
        ]
    what = "Đính chính cảnh báo khẩn cấp" if alert.replaces else "Cảnh báo khẩn cấp"
    own = CapInfo(
        language="vi-VN",
        categories=[OWN_CATEGORY],
        event=what,
        urgency="Immediate",
        severity="Severe",
        certainty="Likely",
        headline=f"{what} – {config.commune_name}",
        description=clean_text(alert.text) or None,
    )
    return [own.model_copy(update=ours)]


def _cancelled(info: CapInfo) -> CapInfo:
    english = _lang(info).startswith("en")
    prefix = "Cancelled: " if english else "Đã hủy: "
    return info.model_copy(update={"headline": prefix + (info.headline or info.event)})


def _lang(info: CapInfo) -> str:
    return info.language.lower()


def _areas(s: Session, alerts: list[Alert]) -> dict[str, list[CapArea]]:
    """Each alert's villages (those of the points it targeted) as CAP areas, by name."""
    zones = sorted(s.scalars(select(Zone)), key=lambda z: (_reading_order(z.name), z.code))
    centres = [
        (z.latitude, z.longitude)
        for z in zones
        if z.latitude is not None and z.longitude is not None
    ]
    node_ids = {n for a in alerts for n in a.targets}
    rows = s.execute(select(Node.id, Node.zone_id).where(Node.id.in_(node_ids)))
    zone_of = {node_id: zone_id for node_id, zone_id in rows}
    areas = {z.id: _village(z, centres) for z in zones}
    result = {}
    for alert in alerts:
        reached = {zone_of.get(n) for n in alert.targets}
        result[alert.id] = [area for zone_id, area in areas.items() if zone_id in reached]
    return result


def _reading_order(name: str) -> str:
    """Village names in the order a Vietnamese reader expects ("Thôn Đông" before "Thôn Tây"),
    not by code point ("Đ" sorts after "T" there)."""
    plain = unicodedata.normalize("NFD", name.lower().replace("đ", "d"))
    return "".join(c for c in plain if not unicodedata.combining(c))


def _village(zone: Zone, centres: list[tuple[float, float]]) -> CapArea:
    radius = 0.0
    if zone.latitude is not None and zone.longitude is not None:
        radius = village_radius_km((zone.latitude, zone.longitude), centres, LARGEST_CIRCLE_KM)
    return village_area(
        zone.name,
        latitude=zone.latitude,
        longitude=zone.longitude,
        geocodes={str(k): str(v) for k, v in (zone.geocodes or {}).items()},
        polygon=[(float(p[0]), float(p[1])) for p in zone.polygon] if zone.polygon else None,
        radius_km=radius,
    )
