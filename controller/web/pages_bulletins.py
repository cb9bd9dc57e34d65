"""Composing bulletins: record, upload or type one, hear it before and after processing, choose
where and when, and send it for approval; the broadcaster's list of bulletins and their outcome.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from controller import audit
from controller.api.deps import ConfigDep, DbDep, recording
from controller.api.errors import status_of
from controller.broadcast import approval, drafts, editing
from controller.broadcast.local_dates import day_text, day_time_text
from controller.broadcast.reading import MAX_PREVIEW_CHARS, read_as, reading_of
from controller.broadcast.titles import MAX_TITLE
from controller.config import ControllerConfig
from controller.db import Database
from controller.errors import (
    DomainError,
    StorageFullError,
    TooLargeError,
    UnavailableError,
    UnsupportedMediaError,
)
from controller.models import Alert, Bulletin, BulletinReview, User, now
from controller.web import report_words, request_words
from controller.web.deps import Viewer, allowed
from controller.web.i18n import translate
from controller.web.points import map_points
from controller.web.render import page
from controller.web.template_picker import template_picker
from schedules import LOCAL

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

VOICES = ("vi", "vi-vn-x-central", "vi-vn-x-south")
SOURCES = ("record", "file", "text")
DENOISERS = ("standard", "neural")  # controller.config.DenoiseChoice, in the order offered
# A refused upload, by the kind of refusal: what to say (anything else is "unusable").
UPLOAD_ERRORS: dict[type[DomainError], str] = {
    TooLargeError: "compose.error.too_big",
    UnsupportedMediaError: "compose.error.not_audio",
}


def fetching(request: Request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def refused(errors: dict[str, str], status: int) -> JSONResponse:
    """The answer scripts get: every field's message, and the first one as ``detail``."""
    return JSONResponse(
        {"detail": next(iter(errors.values())), "errors": errors}, status_code=status
    )


def bulletin_or_404(s: Session, bulletin_id: str) -> Bulletin:
    bulletin = s.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise HTTPException(404, translate("error.not_found", "vi"))
    return bulletin


# --- composing ----------------------------------------------------------------------------


@router.get("/session/csrf")
def fresh_token(viewer: Annotated[Viewer, allowed("view")]) -> dict[str, str]:
    """The token of the current session: a page kept open across a new login (in another tab)
    can send its draft again without being reloaded, which would lose nothing but time."""
    return {"csrf": viewer.csrf}


@router.get("/bulletins/new")
def compose(
    request: Request, config: ConfigDep, viewer: Annotated[Viewer, allowed("compose")]
) -> Response:
    return compose_page(request, viewer, config)


def compose_page(
    request: Request,
    viewer: Viewer,
    config: ControllerConfig,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        viewer,
        "bulletins/compose.html",
        status_code=status,
        values={
            "source": "record",
            "voice": "vi",
            "title": "",
            "text": "",
            "denoise": config.denoise,
            **(values or {}),
        },
        errors=errors or {},
        voices=VOICES,
        denoisers=DENOISERS,
        max_upload_mb=config.max_upload_bytes // 2**20,
        max_title=MAX_TITLE,
        picker=template_picker(request, "notice"),
    )


def check_compose(
    lang: str, source: str, *, title: str, text: str, voice: str, has_file: bool
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(title) > MAX_TITLE:
        errors["title"] = translate("compose.error.title_long", lang, max=MAX_TITLE)
    elif not title and source != "text":  # a file's or a recording's name says nothing
        errors["title"] = translate("compose.error.no_title", lang)
    if source == "text":
        if not text.strip():
            errors["text"] = translate("compose.error.no_text", lang)
        if voice not in VOICES:
            errors["voice"] = translate("compose.error.voice", lang)
    elif source == "file" and not has_file:
        errors["file"] = translate("compose.error.no_file", lang)
    elif source == "record" and not has_file:
        errors["recording"] = translate("compose.error.no_recording", lang)
    elif source not in SOURCES:
        errors["source"] = translate("compose.error.source", lang)
    return errors


def pipeline_error(
    exc: DomainError, source: str, lang: str, config: ControllerConfig
) -> dict[str, str]:
    """Why the pipeline refused the audio, next to the field it came from."""
    from audio.config import MIN_SPEECH_S  # lazily, as every other audio import here

    if isinstance(exc, StorageFullError):  # the server's fault, not the file's: say so
        return {"recording" if source == "record" else "file": exc.message(lang)}
    if source == "text":
        down = isinstance(exc, UnavailableError)
        key = "compose.error.tts_down" if down else "compose.error.text_unusable"
        return {"text": translate(key, lang)}
    if exc.code == "audio.too_long":  # a small file may still decode too long
        key = "compose.error.too_long"
    elif exc.code == "audio.too_short":
        key = "compose.error.too_short"
    else:
        key = UPLOAD_ERRORS.get(type(exc), "compose.error.unusable")
    text = translate(
        key,
        lang,
        max=config.max_upload_bytes // 2**20,
        minutes=f"{config.max_audio_seconds / 60:g}",
        seconds=f"{MIN_SPEECH_S:g}",
    )
    return {"recording" if source == "record" else "file": text}


@router.post("/bulletins/draft")
def create_draft(
    *,
    request: Request,
    db: DbDep,
    config: ConfigDep,
    viewer: Annotated[Viewer, allowed("compose", post=True)],
    source: Annotated[str, Form()] = "record",
    title: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    voice: Annotated[str, Form()] = "vi",
    denoise: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Process the audio for real and keep it as a draft to hear and schedule."""
    lang = viewer.lang
    title = title.strip()
    upload = file if file is not None and file.filename and source != "text" else None
    errors = check_compose(
        lang, source, title=title, text=text, voice=voice, has_file=upload is not None
    )
    method = denoise or config.denoise
    if method not in DENOISERS:
        errors["denoise"] = translate("compose.error.denoise", lang)
    status = 422
    if not errors:
        try:
            with db.session() as s:
                bulletin = drafts.make_draft(
                    s,
                    config,
                    viewer.account(s),
                    recording=recording(upload),
                    text=text if source == "text" else "",
                    voice=voice,
                    title=title,
                    denoise="neural" if method == "neural" else "standard",
                )
                audit.record(s, viewer.user.username, "bulletin.draft", bulletin.id, title=title)
                url = f"/bulletins/{bulletin.id}"
        except DomainError as exc:
            log.info("draft from %s refused: %s", viewer.user.username, exc.en)
            status = status_of(exc)
            errors = pipeline_error(exc, source, lang, config)
    if errors:
        if fetching(request):
            return refused(errors, status)
        values = {
            "source": source,
            "title": title,
            "text": text,
            "voice": voice,
            "denoise": denoise,
        }
        return compose_page(request, viewer, config, values=values, errors=errors, status=status)
    if fetching(request):
        return JSONResponse({"url": url}, status_code=201)
    return RedirectResponse(url, status_code=303)


@router.post("/bulletins/speech-preview")
def speech_preview(
    config: ConfigDep,
    viewer: Annotated[Viewer, allowed("compose", post=True)],
    text: Annotated[str, Form()] = "",
    voice: Annotated[str, Form()] = "vi",
) -> Response:
    """The text spoken and processed exactly as it would air, to listen to before sending."""
    from controller.broadcast.speech import speak

    errors = check_compose(viewer.lang, "text", title="", text=text, voice=voice, has_file=False)
    if not errors:
        try:
            path, _report = speak(config, text.strip(), voice=voice)
        except DomainError as exc:
            errors = pipeline_error(exc, "text", viewer.lang, config)
    if errors:
        return refused(errors, 422)
    return FileResponse(path, media_type="audio/ogg", background=BackgroundTask(path.unlink))


@router.post("/bulletins/speech-text")
def speech_text(
    config: ConfigDep,
    viewer: Annotated[Viewer, allowed("compose", post=True)],
    text: Annotated[str, Form(max_length=MAX_PREVIEW_CHARS)] = "",
    voice: Annotated[str, Form()] = "vi",
) -> Response:
    """How the chosen voice will read the text, in words ("Đọc là: …"), asked for as the
    broadcaster types or changes the voice."""
    if voice not in VOICES:
        return refused({"voice": translate("compose.error.voice", viewer.lang)}, 422)
    return JSONResponse({"spoken": read_as(config.tts, text, voice)})


# --- one bulletin: hear it, choose where and when, send for approval ------------------------


def form_values(stored: dict[str, Any]) -> dict[str, Any]:
    """The request form's fields for a stored request (a rejected bulletin is sent again)."""
    today = now().astimezone(LOCAL).date()
    values: dict[str, Any] = {
        "where": "zones",
        "zones": [],
        "nodes": [],
        "when": "now",
        "at": "",
        "slot": "",
        "repeat": "once",
        "date": day_text(today),
        "weekdays": [],
        "until": "",
        "priority": "normal",
    }
    try:
        request = approval.BroadcastRequest.model_validate(stored)
    except ValueError:
        return values
    where, when = request.where, request.when
    values["where"] = "all" if where.all else "zones" if where.zones else "nodes"
    values.update(zones=where.zones, nodes=where.nodes, when=when.kind, priority=request.priority)
    if when.at:
        values["at"] = day_time_text(when.at.astimezone(LOCAL))
    if when.recurrence:
        rec = when.recurrence
        values.update(
            slot=when.slot_id or "",
            repeat=rec.kind,
            date=day_text(rec.start_date),
            until=day_text(rec.end_date) if rec.end_date else "",
            weekdays=[str(d) for d in sorted(rec.weekdays or ())],
        )
    return values


CONFLICT_LEADS = ("slot_overflow", "overlap", "quiet_hours")


def problem_text(problem: approval.Problem, lang: str) -> str:
    """A programme conflict is said plainly first, then in the conflict checker's own words
    (which name the slot, the date and by how much)."""
    conflict = problem.conflict
    if conflict is not None:
        code = conflict.code if conflict.code in CONFLICT_LEADS else "other"
        detail = conflict.message_vi if lang == "vi" else conflict.message
        return f"{translate(f'request.conflict.{code}', lang)} ({detail})"
    return translate(f"request.error.{problem.code}", lang, **problem.values)


def problems_by_field(problems: list[approval.Problem], lang: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    for p in problems:
        text = problem_text(p, lang)
        errors[p.field] = f"{errors[p.field]} {text}" if p.field in errors else text
    return errors


def detail_page(
    request: Request,
    viewer: Viewer,
    db: Database,
    config: ControllerConfig,
    bulletin_id: str,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    lang = viewer.lang
    with db.session() as s:
        bulletin = bulletin_or_404(s, bulletin_id)
        author = s.get(User, bulletin.created_by)
        reviewer = s.get(User, bulletin.reviewed_by) if bulletin.reviewed_by else None
        editable = (
            bulletin.status in editing.EDITABLE
            and bulletin.created_by == viewer.user.id
            and viewer.can("compose")
        )
        return page(
            request,
            viewer,
            "bulletins/detail.html",
            status_code=status,
            b=bulletin,
            author=author,
            reviewer=reviewer,
            audio=audio_context(config, bulletin, lang),
            asked=request_words.describe(s, bulletin.request, lang),
            editable=editable,
            values=values or {**form_values(bulletin.request), "public": bulletin.public},
            edit=edit_values(bulletin, values),
            reviews=review_history(s, bulletin),
            deletable=deletable(s, bulletin, viewer),
            voices=VOICES,
            max_title=MAX_TITLE,
            is_alert=s.scalar(select(Alert.id).where(Alert.bulletin_id == bulletin.id)) is not None,
            errors=errors or {},
            zones=request_words.zone_choices(s) if editable else [],
            points=map_points(s) if editable else [],
            slots=request_words.slot_choices(s) if editable else [],
        )


def edit_values(bulletin: Bulletin, values: dict[str, Any] | None) -> dict[str, str]:
    """The title, text and voice fields: as sent back with an error, else as stored."""
    given = values or {}
    return {
        "title": given.get("title", bulletin.title),
        "text": given.get("text", bulletin.text),
        "voice": given.get("voice", editing.voice_of(bulletin)),
    }


def review_history(s: Session, bulletin: Bulletin) -> list[BulletinReview]:
    query = select(BulletinReview).where(BulletinReview.bulletin_id == bulletin.id)
    return list(s.scalars(query.order_by(BulletinReview.at)))


def deletable(s: Session, bulletin: Bulletin, viewer: Viewer) -> bool:
    if not viewer.can("compose"):
        return False
    try:
        editing.check_deletable(s, bulletin, viewer.account(s))
    except DomainError:
        return False
    return True


def audio_context(config: Any, bulletin: Bulletin, lang: str) -> dict[str, Any]:
    """What the page shows of the audio: players, waveforms, the report in plain words."""
    shapes = drafts.waveforms(config, bulletin)
    return {
        "before": drafts.before_path(config, bulletin) is not None,
        "paths": {name: drafts.waveform_path(values) for name, values in shapes.items()},
        "points": drafts.WAVEFORM_POINTS,
        "words": report_words.describe(bulletin.processing_report or {}, lang),  # plain, technical
        "duration": bulletin.audio.duration_s,
        "reading": reading_of(bulletin),
    }


@router.get("/bulletins/{bulletin_id}")
def bulletin_page(
    request: Request,
    db: DbDep,
    config: ConfigDep,
    bulletin_id: str,
    viewer: Annotated[Viewer, allowed("view")],
) -> Response:
    return detail_page(request, viewer, db, config, bulletin_id)


@router.get("/bulletins/{bulletin_id}/audio/{which}")
def bulletin_audio(
    *,
    db: DbDep,
    config: ConfigDep,
    bulletin_id: str,
    which: str,
    viewer: Annotated[Viewer, allowed("view")],
) -> Response:
    with db.session() as s:
        bulletin = bulletin_or_404(s, bulletin_id)
        path = (
            drafts.after_path(config, bulletin)
            if which == "after"
            else drafts.before_path(config, bulletin)
            if which == "before"
            else None
        )
    if path is None or not path.exists():
        raise HTTPException(404, translate("error.not_found", viewer.lang))
    return FileResponse(path, media_type="audio/ogg", headers={"Cache-Control": "private"})


# --- the list ---------------------------------------------------------------------------


@router.get("/bulletins")
def bulletin_list(
    request: Request,
    db: DbDep,
    config: ConfigDep,
    viewer: Annotated[Viewer, allowed("view")],
    mine: int | None = None,
) -> Response:
    """A broadcaster sees their own bulletins first; approvers see everyone's."""
    only_mine = bool(mine) if mine is not None else not viewer.can("review")
    with db.session() as s:
        query = select(Bulletin).order_by(Bulletin.created_at.desc()).limit(100)
        if only_mine:
            query = query.where(Bulletin.created_by == viewer.user.id)
        rows = s.scalars(query).all()
        authors = {u.id: u for u in s.scalars(select(User))}
        items = [
            {
                "b": b,
                "author": authors.get(b.created_by),
                "asked": request_words.describe(s, b.request, viewer.lang),
                "duration": b.audio.duration_s,
                "deletable": b.status in editing.EDITABLE and deletable(s, b, viewer),
            }
            for b in rows
        ]
        return page(
            request,
            viewer,
            "bulletins/list.html",
            entries=items,
            only_mine=only_mine,
            deleted=bool(request.query_params.get("deleted")),
            expiry_days=config.draft_expiry_days,
        )
