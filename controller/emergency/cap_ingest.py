"""CAP 1.2 messages into the controller: store, decide, match zones, air, update, cancel.

Messages from the API and from polled feeds go through ``ingest`` alike. Only ``status=Actual``
goes on air; Test and Exercise are stored, and played only on nodes marked ``accepts_tests``.
A document an account posts is that account's alert: the API checked its role, it waits for a
second account under the two-person rule, and the audit log names it. Only a feed the
administrator configured acts as the system identity ``cap-feed`` and needs no second account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller import audit
from controller.auth import SYSTEM_ROLE, hash_password
from controller.broadcast.speech import speak
from controller.config import ControllerConfig
from controller.delivery.dispatcher import Dispatcher
from controller.emergency import alerts
from controller.emergency.cap import (
    CapAlert,
    ZoneGeo,
    decide,
    key_string,
    match_zones,
    parse_cap,
    preferred_info,
    speech_text,
)
from controller.models import Alert, CapMessage, Node, User, Zone, now

log = logging.getLogger(__name__)
CAP_USER = "cap-feed"
DEFAULT_LIFETIME = timedelta(hours=6)  # a CAP info without `expires`


@dataclass(frozen=True)
class Outcome:
    key: str
    action: str
    reason: str
    zones: list[str]
    alert_id: str | None = None
    duplicate: bool = False


def cap_user(s: Session) -> User:
    user = s.scalar(select(User).where(User.username == CAP_USER))
    if user is None:  # an account no one can log in with: the audit log names it as the actor
        user = User(username=CAP_USER, password_hash=hash_password(""), role=SYSTEM_ROLE)
        user.password_hash = "!" + user.password_hash
        s.add(user)
        s.flush()
    return user


def ingest(
    s: Session,
    config: ControllerConfig,
    dispatcher: Dispatcher,
    xml: bytes,
    *,
    poster: User | None,
    source: str = "api",
    link: str | None = None,
) -> Outcome:
    """Handle one CAP document; ``CapError`` (a ValueError) for malformed input, nothing stored.

    ``poster`` is the account that sent it (its role already checked); None only for a feed
    the administrator configured, which is trusted to air without a second account. ``link``
    is the document's own URL when a feed linked to it, kept so the poller knows it has it."""
    alert = parse_cap(xml)
    key = key_string(alert.key)
    seen = s.get(CapMessage, key)
    if seen is not None and not (poster is None and _posted_and_unsent(s, seen)):
        if link is not None and seen.link is None:  # e.g. posted by hand, then linked by the feed
            seen.link = link
        return Outcome(
            key,
            seen.action,
            "duplicate: already received",
            seen.zones,
            seen.alert_id,
            duplicate=True,
        )
    user = poster or cap_user(s)
    if seen is not None:  # the feed's own copy replaces the one an account posted first
        _withdraw(s, dispatcher, user, seen)
    decision = decide(alert, now())
    info = preferred_info(alert) if alert.infos else None
    zones = match_zones(info.areas, _zone_geos(s)) if info else []
    record = CapMessage(
        key=key,
        status=alert.status,
        msg_type=alert.msg_type,
        action=decision.action,
        reason=decision.reason,
        zones=zones,
        source=source,
        link=link,
        xml=xml.decode("utf-8", "replace"),
    )
    s.add(record)
    audit.record(s, user.username, "cap.receive", key, decision=decision.action, source=source)
    for ref in decision.references:  # Update and Cancel stop what they replace, everywhere
        old = s.scalar(select(Alert).where(Alert.cap_key == key_string(ref)))
        if old is not None and old.state in ("proposed", "active"):
            alerts.cancel(s, dispatcher, user, old, f"CAP {alert.msg_type} {alert.identifier}")
            old.state = "superseded" if decision.action == "update" else "cancelled"
    if decision.action in ("air", "update", "log_only") and info is not None:
        nodes = _target_nodes(s, zones, tests_only=decision.action == "log_only")
        if not nodes:
            record.reason += "; no loudspeaker point in the alert's area"
        else:
            record.alert_id = _air(
                s,
                config,
                dispatcher,
                user,
                alert=alert,
                key=key,
                nodes=nodes,
                priority=decision.priority or "normal",
                official=poster is None,
            )
    s.flush()
    return Outcome(key, record.action, record.reason, zones, record.alert_id)


def _posted_and_unsent(s: Session, seen: CapMessage) -> bool:
    """Whether ``seen`` came from an account and its alert never went out (it waits for a
    second account, or was withdrawn). Were the feed's copy of the same key then dropped as a
    duplicate, posting the feed's next alert first would silence the feed."""
    if seen.source != "api":
        return False
    made = s.get(Alert, seen.alert_id) if seen.alert_id else None
    return made is None or made.sent_at is None


def _withdraw(s: Session, dispatcher: Dispatcher, feed: User, seen: CapMessage) -> None:
    """Forget the account's copy of a key the feed now delivers, stopping its waiting alert;
    the audit log keeps who posted it."""
    made = s.get(Alert, seen.alert_id) if seen.alert_id else None
    if made is not None:
        if made.state == "proposed":
            alerts.cancel(s, dispatcher, feed, made, "replaced by the official feed's copy")
            made.state = "superseded"
        made.cap_key = None  # the key now names the feed's alert (one alert per key)
    s.delete(seen)
    s.flush()


def _zone_geos(s: Session) -> list[ZoneGeo]:
    return [
        ZoneGeo(
            code=z.code,
            latitude=z.latitude,
            longitude=z.longitude,
            geocodes=z.geocodes or {},
            polygon=[tuple(p) for p in z.polygon] if z.polygon else None,
        )
        for z in s.scalars(select(Zone))
        if z.latitude is not None and z.longitude is not None
    ]


def _target_nodes(s: Session, zones: list[str], *, tests_only: bool) -> list[str]:
    q = select(Node.id).join(Zone, Node.zone_id == Zone.id).where(Zone.code.in_(zones))
    if tests_only:
        q = q.where(Node.accepts_tests.is_(True))
    return sorted(s.scalars(q))


def _air(
    s: Session,
    config: ControllerConfig,
    dispatcher: Dispatcher,
    user: User,
    *,
    alert: CapAlert,
    key: str,
    nodes: list[str],
    priority: str,
    official: bool,
) -> str:
    """Speak the preferred info (offline TTS: never waiting for the internet) to ``nodes``."""
    info = preferred_info(alert)
    text = speech_text(info)
    encoded, report = speak(config, text, voice="vi", emergency=True)
    request = alerts.AlertRequest(
        encoded=encoded,
        report=report,
        title=f"CAP {alert.status}: {info.headline or info.event}"[:300],
        text=text,
        targets=nodes,
        repeat=1,
        interval_s=300,
        expires_at=info.expires or now() + DEFAULT_LIFETIME,
        source="cap",
        cap_key=key,
        confirmed=official,
        priority=priority,
    )
    return alerts.raise_alert(s, config, dispatcher, user, request).id
