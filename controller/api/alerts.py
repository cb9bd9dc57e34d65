"""HTTP API for emergencies: send, confirm, cancel (with a correction), live report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.api.deps import (
    ERRORS,
    ConfigDep,
    DbDep,
    DispatcherDep,
    EmergencyDep,
    UserDep,
    found,
    recording,
)
from controller.broadcast.media import audio_for
from controller.broadcast.targets import resolve_targets, split_list
from controller.broadcast.times import MAX_VALID_S
from controller.emergency import alerts
from controller.emergency.channels.report import channel_report
from controller.models import Alert, User
from controller.reports.bulletin import bulletin_report, local
from controller.schemas import AlertOut

router = APIRouter(prefix="/api/v1/alerts", tags=["emergency"])


@router.post("", status_code=201, responses=ERRORS)
def send_alert(
    db: DbDep,
    config: ConfigDep,
    dispatcher: DispatcherDep,
    user: EmergencyDep,
    text: Annotated[str, Form(max_length=5000, description="message for text-to-speech")] = "",
    file: Annotated[UploadFile | None, File(description="or a recording")] = None,
    voice: Annotated[str, Form()] = "vi",
    all: Annotated[bool, Form()] = False,
    zones: Annotated[list[str] | None, Form()] = None,
    nodes: Annotated[list[str] | None, Form()] = None,
    repeat: Annotated[int, Form(ge=1, le=10)] = 1,
    interval_s: Annotated[int, Form(ge=10, le=6 * 3600)] = 300,
    expires_minutes: Annotated[int | None, Form(ge=1, le=MAX_VALID_S // 60)] = None,
) -> AlertOut:
    if not text.strip() and file is None:
        raise HTTPException(422, "an emergency needs a text or a recording")
    with db.session() as s:
        targets = resolve_targets(s, all, split_list(zones), split_list(nodes))
    alerts.check_timing(repeat, interval_s, expires_minutes or config.alert_expiry_minutes)
    # an alert may carry both: the recording airs, the text is kept as its transcript
    encoded, report, name = audio_for(config, recording(file), text, voice, emergency=True)
    request = alerts.AlertRequest(
        encoded=encoded,
        report=report,
        name=name,
        text=text,
        targets=targets,
        repeat=repeat,
        interval_s=interval_s,
        expires_minutes=expires_minutes,
    )
    # committed before the report is built: the commit wakes the dispatcher, which sends the
    # commands while the report of every point is read (as long again at a thousand points)
    with db.session() as s:
        alert_id = alerts.submit(s, config, dispatcher, user, request).id
    with db.session() as s:
        return alert_out(s, s.get_one(Alert, alert_id))


@router.post("/{alert_id}/confirm", responses=ERRORS)
def confirm_alert(
    alert_id: str, db: DbDep, dispatcher: DispatcherDep, user: EmergencyDep
) -> AlertOut:
    with db.session() as s:  # committed first, as in ``send_alert``
        alerts.confirm(s, dispatcher, user, found(s, Alert, alert_id, "alert"))
    with db.session() as s:
        return alert_out(s, s.get_one(Alert, alert_id))


@router.post("/{alert_id}/cancel", responses=ERRORS)
def cancel_alert(
    alert_id: str,
    db: DbDep,
    config: ConfigDep,
    dispatcher: DispatcherDep,
    user: EmergencyDep,
    reason: Annotated[str, Form(max_length=500)] = "",
    correction: Annotated[str, Form(max_length=5000, description="send this instead")] = "",
) -> AlertOut:
    """Stop the alert on every node at once; with ``correction``, send the corrected text."""
    speech = alerts.correction_speech(config, correction)
    with db.session() as s:
        alert = found(s, Alert, alert_id, "alert")
        alerts.cancel_and_correct(
            s,
            config,
            dispatcher,
            user,
            alert,
            reason=reason,
            correction=correction,
            speech=speech,
        )
    with db.session() as s:  # committed first, as in ``send_alert``
        return alert_out(s, s.get_one(Alert, alert_id))


@router.get("", responses=ERRORS)
def list_alerts(db: DbDep, _user: UserDep, limit: int = 50) -> list[AlertOut]:
    with db.session() as s:
        rows = s.scalars(select(Alert).order_by(Alert.created_at.desc()).limit(limit))
        return [alert_out(s, a, with_report=False) for a in rows]


@router.get("/{alert_id}", responses=ERRORS)
def get_alert(alert_id: str, db: DbDep, _user: UserDep) -> AlertOut:
    """The alert with its live report: which nodes started which airing when, which did not."""
    with db.session() as s:
        return alert_out(s, found(s, Alert, alert_id, "alert"))


def alert_out(s: Session, alert: Alert, *, with_report: bool = True) -> AlertOut:
    s.flush()
    s.refresh(alert)

    def name(user_id: int | None) -> str | None:
        user = s.get(User, user_id) if user_id is not None else None
        return user.username if user else None

    return AlertOut(
        id=alert.id,
        bulletin_id=alert.bulletin_id,
        state=alert.state,
        source=alert.source,
        text=alert.text,
        targets=list(alert.targets),
        repeat=alert.repeat,
        interval_s=alert.interval_s,
        expires_at=local(alert.expires_at),
        proposed_by=name(alert.proposed_by) or "?",
        confirmed_by=name(alert.confirmed_by),
        created_at=local(alert.created_at),
        sent_at=local(alert.sent_at),
        cancelled_at=local(alert.cancelled_at),
        cancel_reason=alert.cancel_reason,
        replaces=alert.replaces,
        report=bulletin_report(s, alert.bulletin) if with_report else None,
        channels=channel_report(s, alert.id) if with_report else [],
    )
