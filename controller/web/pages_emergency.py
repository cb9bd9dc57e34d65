"""The emergency page: prepare an alert, confirm it (or have a second account confirm it under
the two-person rule), watch it start point by point, and stop it everywhere with one action.
Sending, confirming and cancelling go through controller/alerts.py, which audits them."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controller.api.deps import ConfigDep, DbDep, DispatcherDep
from controller.api.errors import status_of
from controller.config import ControllerConfig
from controller.db import Database
from controller.emergency import alerts
from controller.emergency.channels.report import channel_report
from controller.errors import DomainError
from controller.models import Alert, Node, User, Zone, now
from controller.web import emergency_form
from controller.web.deps import Viewer, allowed
from controller.web.emergency_form import EXPIRY_CHOICES, AlertForm
from controller.web.i18n import translate
from controller.web.live import deliveries
from controller.web.render import page
from controller.web.template_picker import template_picker

router = APIRouter(include_in_schema=False)
OPEN_STATES = ("proposed", "active")


def villages(s: Session) -> list[dict[str, Any]]:
    counts = {
        zone_id: count
        for zone_id, count in s.execute(select(Node.zone_id, func.count()).group_by(Node.zone_id))
    }
    return [
        {"code": z.code, "name": z.name, "points": counts.get(z.id, 0)}
        for z in s.scalars(select(Zone).order_by(Zone.name))
    ]


def form_page(
    request: Request,
    viewer: Viewer,
    db: Database,
    config: ControllerConfig,
    form: AlertForm,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
    notice: str = "",
) -> Response:
    with db.session() as s:
        zones = villages(s)
        total = sum(z["points"] for z in zones)
        rows = s.scalars(select(Alert).order_by(Alert.created_at.desc()).limit(20)).all()
        names = {u.id: u.display_name or u.username for u in s.scalars(select(User))}
        listed = [alert_view(a, names) for a in rows]
    expiry = [
        (m, expiry_label(m, viewer.lang))
        for m in sorted({*EXPIRY_CHOICES, config.alert_expiry_minutes})
    ]
    return page(
        request,
        viewer,
        "emergency/form.html",
        status_code=status,
        form=form,
        errors=errors or {},
        zones=zones,
        total=total,
        expiry_choices=expiry,
        waiting=[a for a in listed if a["state"] == "proposed"],
        active=[a for a in listed if a["state"] == "active"],
        recent=[a for a in listed if a["state"] not in OPEN_STATES][:10],
        two_person=config.two_person_rule,
        notice=notice,
        picker=template_picker(request, "alert"),
    )


def expiry_label(minutes: int, lang: str) -> str:
    if minutes % 60:
        return translate("emergency.minutes", lang, count=minutes)
    return translate("emergency.hours", lang, count=minutes // 60)


def alert_view(alert: Alert, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": alert.id,
        "state": alert.state,
        "source": alert.source,
        "text": alert.text,
        "title": alert.bulletin.title,
        "targets": len(alert.targets),
        "repeat": alert.repeat,
        "interval_s": alert.interval_s,
        "created_at": alert.created_at,
        "sent_at": alert.sent_at,
        "expires_at": alert.expires_at,
        "cancelled_at": alert.cancelled_at,
        "proposed_by": names.get(alert.proposed_by, "?"),
        "proposed_by_id": alert.proposed_by,
        "confirmed_by": names.get(alert.confirmed_by) if alert.confirmed_by else None,
        "replaces": alert.replaces,
    }


@router.get("/emergency")
def emergency_page(
    request: Request,
    db: DbDep,
    config: ConfigDep,
    viewer: Annotated[Viewer, allowed("emergency")],
    edit: str = "",
) -> Response:
    form = AlertForm(expires_min=str(config.alert_expiry_minutes))
    prepared = emergency_form.load(config, edit, viewer.user.id)
    if prepared is not None:  # back from the confirmation step: the form as it was typed
        form = AlertForm(**prepared.form)
    return form_page(request, viewer, db, config, form)


@router.post("/emergency/review")
def review(
    request: Request,
    db: DbDep,
    config: ConfigDep,
    *,
    viewer: Annotated[Viewer, allowed("emergency", post=True)],
    text: Annotated[str, Form()] = "",
    all: Annotated[str, Form()] = "",
    zones: Annotated[list[str] | None, Form()] = None,
    repeat: Annotated[str, Form()] = "",
    interval_min: Annotated[str, Form()] = "",
    expires_min: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Step 1: check, speak or process the audio, and show what would be sent where."""
    form = AlertForm(
        text=text,
        all_points=bool(all),
        zones=zones or [],
        repeat=repeat,
        interval_min=interval_min,
        expires_min=expires_min,
    )
    upload = file if file is not None and file.filename else None
    with db.session() as s:
        checked, errors = emergency_form.check(s, form, upload is not None)
    if checked is None:
        return form_page(request, viewer, db, config, form, errors=errors, status=422)
    try:
        token = emergency_form.prepare(config, viewer.user.id, form, checked, upload)
    except DomainError as exc:
        field = "file" if upload is not None else "text"
        key = emergency_form.audio_error(exc) if upload is not None else "emergency.error.speech"
        status = status_of(exc)
        return form_page(
            request,
            viewer,
            db,
            config,
            form,
            errors={field: key, f"{field}_detail": exc.message(viewer.lang)},
            status=status if status < 500 else 422,
        )
    prepared = emergency_form.load(config, token, viewer.user.id)
    assert prepared is not None  # just written by this account
    return page(
        request,
        viewer,
        "emergency/confirm.html",
        token=token,
        prepared=prepared,
        summary=summary(prepared, viewer.lang),
        expires_at=now() + timedelta(minutes=prepared.expires_min),
        two_person=config.two_person_rule,
    )


def summary(prepared: emergency_form.Prepared, lang: str) -> str:
    """One sentence of what step 2 does, e.g. "Phát KHẨN CẤP tới 2 điểm loa ở Thôn Tây, lặp 3
    lần, mỗi lần cách nhau 5 phút"."""
    where = (
        translate("emergency.summary.where", lang, places=", ".join(prepared.zone_names))
        if prepared.zone_names
        else translate("emergency.summary.everywhere", lang)
    )
    text = translate("emergency.summary.what", lang, count=len(prepared.targets), where=where)
    if prepared.repeat > 1:
        text += translate(
            "emergency.summary.repeat",
            lang,
            repeat=prepared.repeat,
            minutes=prepared.interval_s // 60,
        )
    return text


@router.get("/emergency/prepared/{token}.ogg")
def prepared_audio(
    config: ConfigDep, token: str, viewer: Annotated[Viewer, allowed("emergency")]
) -> Response:
    """The prepared alert's audio, to hear it before confirming."""
    if emergency_form.load(config, token, viewer.user.id) is None:
        raise HTTPException(404, translate("error.not_found", viewer.lang))
    return FileResponse(emergency_form.audio_path(config, token), media_type="audio/ogg")


@router.post("/emergency/send")
def send(
    request: Request,
    *,
    db: DbDep,
    config: ConfigDep,
    dispatcher: DispatcherDep,
    viewer: Annotated[Viewer, allowed("emergency", post=True)],
    token: Annotated[str, Form()] = "",
) -> Response:
    """Step 2: send what step 1 prepared (or propose it, under the two-person rule)."""
    prepared = emergency_form.load(config, token, viewer.user.id)
    encoded = emergency_form.claim(config, token) if prepared is not None else None
    if prepared is None or encoded is None:
        return form_page(
            request, viewer, db, config, AlertForm(), notice="emergency.error.lapsed", status=409
        )
    alert_request = alerts.AlertRequest(
        encoded=encoded,
        report=prepared.report,
        name=prepared.file_name,
        text=prepared.text,
        targets=prepared.targets,
        repeat=prepared.repeat,
        interval_s=prepared.interval_s,
        expires_minutes=prepared.expires_min,
    )
    with db.session() as s:
        alert = alerts.submit(s, config, dispatcher, viewer.account(s), alert_request)
        alert_id = alert.id
    return RedirectResponse(f"/emergency/{alert_id}", status_code=303)


@router.get("/emergency/{alert_id}")
def watch(
    request: Request, db: DbDep, alert_id: str, viewer: Annotated[Viewer, allowed("emergency")]
) -> Response:
    with db.session() as s:
        alert = alert_or_404(s, alert_id, viewer.lang)
        names = {u.id: u.display_name or u.username for u in s.scalars(select(User))}
        view = alert_view(alert, names)
        targets = set(alert.targets)
        nodes = s.execute(select(Node, Zone).join(Zone, Node.zone_id == Zone.id)).all()
        places = sorted({zone.name for node, zone in nodes if node.id in targets})
        zones = {z.code: z.name for z in s.scalars(select(Zone))}
        correction = s.scalar(select(Alert.id).where(Alert.replaces == alert_id))
        bulletin_id = alert.bulletin_id
        channels = channel_report(s, alert_id)
    return page(
        request,
        viewer,
        "emergency/watch.html",
        alert=view,
        places=places,
        zones=zones,
        correction=correction,
        channels=channels,
        data=deliveries(db, bulletin_id, viewer.lang),
        may_confirm=view["state"] == "proposed" and view["proposed_by_id"] != viewer.user.id,
        states={k: translate(f"emergency.state.{k}", viewer.lang) for k in STATES},
    )


STATES = ("proposed", "active", "cancelled", "expired", "superseded")


def alert_or_404(s: Session, alert_id: str, lang: str) -> Alert:
    alert = s.get(Alert, alert_id)
    if alert is None:
        raise HTTPException(404, translate("error.not_found", lang))
    return alert


@router.post("/emergency/{alert_id}/confirm")
def confirm(
    db: DbDep,
    dispatcher: DispatcherDep,
    alert_id: str,
    viewer: Annotated[Viewer, allowed("emergency", post=True)],
) -> Response:
    """The second account's confirmation under the two-person rule; alerts.confirm refuses the
    proposer and anything no longer waiting."""
    with db.session() as s:
        alert = alert_or_404(s, alert_id, viewer.lang)
        if alert.proposed_by == viewer.user.id:
            raise HTTPException(403, translate("emergency.error.own_alert", viewer.lang))
        if alert.state != "proposed":
            raise HTTPException(409, translate("emergency.error.not_waiting", viewer.lang))
        alerts.confirm(s, dispatcher, viewer.account(s), alert)
    return RedirectResponse(f"/emergency/{alert_id}", status_code=303)


@router.post("/emergency/{alert_id}/cancel")
def cancel(
    *,
    db: DbDep,
    config: ConfigDep,
    dispatcher: DispatcherDep,
    alert_id: str,
    viewer: Annotated[Viewer, allowed("emergency", post=True)],
    correction: Annotated[str, Form(max_length=emergency_form.MAX_TEXT)] = "",
) -> Response:
    """One action stops the alert on every point; a correction, if typed, goes out instead."""
    with db.session() as s:
        if alert_or_404(s, alert_id, viewer.lang).state not in OPEN_STATES:
            raise HTTPException(409, translate("emergency.error.not_open", viewer.lang))
    speech = alerts.correction_speech(config, correction)
    with db.session() as s:
        alert = alert_or_404(s, alert_id, viewer.lang)
        if alert.state not in OPEN_STATES:  # stopped by someone else meanwhile
            raise HTTPException(409, translate("emergency.error.not_open", viewer.lang))
        fixed = alerts.cancel_and_correct(
            s,
            config,
            dispatcher,
            viewer.account(s),
            alert,
            reason=translate("emergency.cancel.reason", "vi", name=viewer.user.username),
            correction=correction,
            speech=speech,
        )
        target = fixed.id if fixed is not None else alert_id
    return RedirectResponse(f"/emergency/{target}", status_code=303)
