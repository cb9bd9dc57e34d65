"""Emergencies: propose, confirm (two-person rule), send to every target at once, cancel.

An alert is a bulletin with priority ``emergency`` aired ``repeat`` times, ``interval_s`` apart;
each airing has its own play id (``<bulletin>.r<k>``) so the live report can say which node
started which airing when. Nodes play their own attention signal first, before the message
has even downloaded, and ignore quiet hours.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from controller import audit
from controller.broadcast.audio_report import AudioReport
from controller.broadcast.bulletins import Airing, new_bulletin, send
from controller.broadcast.speech import speak
from controller.config import ControllerConfig
from controller.delivery.dispatcher import Dispatcher
from controller.emergency.channels import outbox
from controller.emergency.channels.vault import load_vault
from controller.errors import ConflictError, ForbiddenError, InvalidInputError
from controller.models import Alert, Bulletin, User, now
from protocol.signing import MAX_COMMAND_TTL


def airings(bulletin: Bulletin, repeat: int, interval_s: int, start: datetime) -> list[Airing]:
    return [
        Airing(
            f"{bulletin.id}.r{k + 1}", None if k == 0 else start + timedelta(seconds=k * interval_s)
        )
        for k in range(repeat)
    ]


@dataclass(frozen=True)
class AlertRequest:
    """What an alert asks for, whoever raises it (the API, the web form, a CAP feed); its audio
    is already prepared. It ends at ``expires_at`` if given (CAP), else ``expires_minutes``
    after it is sent, else after the configured default. ``name`` is the recording's file name
    ("" for speech); ``title`` left empty is made from the text or that name."""

    encoded: Path
    report: AudioReport
    text: str
    targets: list[str]
    repeat: int
    interval_s: int
    expires_minutes: int | None = None
    expires_at: datetime | None = None
    title: str = ""
    name: str = ""
    source: str = "manual"
    cap_key: str | None = None
    replaces: str | None = None
    confirmed: bool = False  # the source needs no second account, e.g. an official CAP feed
    priority: str = "emergency"  # as CAP decided; unused so far: every alert airs as emergency


def raise_alert(
    s: Session,
    config: ControllerConfig,
    dispatcher: Dispatcher,
    user: User,
    request: AlertRequest,
) -> Alert:
    """Store the alert and its audio; send it at once unless it must wait for a second account."""
    expires_at = request.expires_at or now() + timedelta(
        minutes=request.expires_minutes or config.alert_expiry_minutes
    )
    bulletin = new_bulletin(
        s,
        config,
        user,
        encoded=request.encoded,
        report=request.report,
        title=request.title or "KHẨN CẤP: " + (request.text.strip()[:80] or request.name),
        priority="emergency",
        valid_until=expires_at,
        public=True,  # a villager away from the horns must hear an alert too
    )
    alert = Alert(
        id=uuid.uuid4().hex,
        bulletin_id=bulletin.id,
        state="proposed",
        source=request.source,
        cap_key=request.cap_key,
        text=request.text,
        targets=request.targets,
        repeat=request.repeat,
        interval_s=request.interval_s,
        expires_at=expires_at,
        proposed_by=user.id,
        replaces=request.replaces,
    )
    s.add(alert)
    s.flush()
    audit.record(
        s,
        user.username,
        "alert.propose",
        alert.id,
        targets=request.targets,
        text=request.text[:200],
    )
    if request.confirmed or not config.two_person_rule:
        activate(s, dispatcher, user, alert)
    return alert


def activate(s: Session, dispatcher: Dispatcher, user: User, alert: Alert) -> None:
    """Send every airing to every target now."""
    if alert.state != "proposed":
        raise ConflictError(
            "alert.not_waiting",
            f"alert {alert.id} is {alert.state}, not waiting to be sent",
            "Cảnh báo này không còn chờ xác nhận.",
        )
    if alert.expires_at <= now():
        alert.state = "expired"
        raise ConflictError(
            "alert.expired",
            f"alert {alert.id} expired at {alert.expires_at.isoformat()}",
            f"Cảnh báo này đã hết hạn lúc {alert.expires_at.isoformat()}.",
        )
    # An emergency is never refused for lasting long (a CAP `expires` may be weeks away), but
    # every point refuses a command living longer than the protocol allows: it lapses then.
    reach = now() + MAX_COMMAND_TTL
    alert.expires_at = min(alert.expires_at, reach)
    alert.bulletin.valid_until = min(alert.bulletin.valid_until, reach)
    alert.state = "active"
    alert.sent_at = now()
    if alert.confirmed_by is None and user.id != alert.proposed_by:
        alert.confirmed_by = user.id
    send(
        s,
        dispatcher,
        user,
        alert.bulletin,
        targets=list(alert.targets),
        airings=airings(alert.bulletin, alert.repeat, alert.interval_s, now()),
    )
    audit.record(s, user.username, "alert.send", alert.id, targets=alert.targets)
    # after the loudspeakers' commands, in the same commit; sent by the channel worker
    channels_queued(s, dispatcher.config, alert)


def channels_queued(s: Session, config: ControllerConfig, alert: Alert) -> None:
    """The alert on the commune's other channels (SMS, Zalo, boards), queued, not sent."""
    settings = config.channels
    if settings.sms or settings.zalo or settings.boards:
        outbox.enqueue(s, settings, load_vault(config.data_dir), alert, config.web_url)


def confirm(s: Session, dispatcher: Dispatcher, user: User, alert: Alert) -> None:
    if user.id == alert.proposed_by:
        raise ForbiddenError(
            "alert.own",
            "two-person rule: the alert must be confirmed by a different account",
            "Theo quy tắc hai người, bạn không thể tự xác nhận cảnh báo do mình đề xuất.",
        )
    alert.confirmed_by = user.id
    audit.record(s, user.username, "alert.confirm", alert.id)
    activate(s, dispatcher, user, alert)


def cancel(s: Session, dispatcher: Dispatcher, user: User, alert: Alert, reason: str) -> list[str]:
    """Stop every airing of the alert on every node at once; returns the nodes told."""
    if alert.state not in ("proposed", "active"):
        raise ConflictError(
            "alert.not_open",
            f"alert {alert.id} is already {alert.state}",
            "Cảnh báo này đã dừng hoặc hết hạn.",
        )
    told = dispatcher.queue_cancel(s, alert.bulletin.deliveries, reason or "alert cancelled")
    outbox.cancel_pending(s, alert.id)
    alert.state = "cancelled"
    alert.cancelled_at = now()
    alert.cancel_reason = reason
    audit.record(s, user.username, "alert.cancel", alert.id, reason=reason, nodes=told)
    return told


def check_timing(repeat: int, interval_s: int, expires_minutes: int) -> None:
    if (repeat - 1) * interval_s > expires_minutes * 60:
        raise InvalidInputError(
            "alert.outlasts",
            f"{repeat} airings {interval_s} s apart outlast the expiry",
            "Các lần phát lặp lại kéo dài quá thời hạn hiệu lực.",
            field="interval_s",
        )


def submit(
    s: Session,
    config: ControllerConfig,
    dispatcher: Dispatcher,
    user: User,
    request: AlertRequest,
) -> Alert:
    """An alert a person raised (API or web page): its timing checked, its text trimmed."""
    minutes = request.expires_minutes or config.alert_expiry_minutes
    check_timing(request.repeat, request.interval_s, minutes)
    text = request.text.strip()
    return raise_alert(
        s, config, dispatcher, user, replace(request, text=text, expires_minutes=minutes)
    )


def correction_speech(config: ControllerConfig, correction: str) -> tuple[Path, AudioReport] | None:
    """The spoken correction, made before any database session is opened (speech is slow)."""
    fixed = correction.strip()
    return speak(config, fixed, voice="vi", emergency=True) if fixed else None


def cancel_and_correct(
    s: Session,
    config: ControllerConfig,
    dispatcher: Dispatcher,
    user: User,
    alert: Alert,
    *,
    reason: str,
    correction: str,
    speech: tuple[Path, AudioReport] | None,
) -> Alert | None:
    """Stop the alert everywhere; with a correction, send it to the same points instead."""
    cancel(s, dispatcher, user, alert, reason)
    if speech is None:
        return None
    fixed = AlertRequest(
        encoded=speech[0],
        report=speech[1],
        title="KHẨN CẤP (đính chính): " + correction.strip()[:60],
        text=correction.strip(),
        targets=list(alert.targets),
        repeat=alert.repeat,
        interval_s=alert.interval_s,
        expires_at=alert.expires_at,
        replaces=alert.id,
    )
    return raise_alert(s, config, dispatcher, user, fixed)
