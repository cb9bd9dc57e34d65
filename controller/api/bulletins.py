"""HTTP API for zones and bulletins under /api/v1 (bearer-token auth; docs at /docs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from sqlalchemy import select

from controller import programme
from controller.api.deps import (
    ERRORS,
    ConfigDep,
    DbDep,
    DispatcherDep,
    UserDep,
    found,
    recording,
    require,
)
from controller.broadcast.bulletins import new_bulletin, send
from controller.broadcast.media import audio_for, duration_of
from controller.broadcast.targets import resolve_targets, split_list
from controller.broadcast.times import MAX_VALID_S, check_quiet_hours, parse_time, valid_until
from controller.broadcast.titles import checked_title, resolved_title, title_from_filename
from controller.config import DenoiseChoice
from controller.errors import DomainError
from controller.models import Bulletin, Node, Zone, now
from controller.reports.bulletin import bulletin_out, bulletin_report
from controller.schemas import BulletinOut, BulletinReport, ZoneOut

router = APIRouter(prefix="/api/v1")


@router.get("/health")
def health(dispatcher: DispatcherDep) -> dict[str, object]:
    return {"status": "ok", "mqtt_connected": dispatcher.online()}


@router.get("/zones", responses=ERRORS)
def list_zones(db: DbDep, _user: UserDep) -> list[ZoneOut]:
    with db.session() as s:
        zones = s.scalars(select(Zone).order_by(Zone.code)).all()
        nodes = s.scalars(select(Node)).all()
        return [
            ZoneOut(code=z.code, name=z.name, nodes=sum(n.zone_id == z.id for n in nodes))
            for z in zones
        ]


@router.post("/bulletins", status_code=201, responses=ERRORS)
def create_bulletin(
    db: DbDep,
    config: ConfigDep,
    dispatcher: DispatcherDep,
    user: UserDep,
    file: Annotated[
        UploadFile | None, File(description="recording: WAV, MP3, OGG/Opus, M4A, AMR, ...")
    ] = None,
    text: Annotated[str, Form(max_length=20000, description="or a text for speech")] = "",
    voice: Annotated[str, Form(description="vi | vi-vn-x-central | vi-vn-x-south")] = "vi",
    denoise: Annotated[
        DenoiseChoice | None,
        Form(
            description="noise reduction of the recording: standard | neural (the AI "
            "denoiser, DeepFilterNet3); empty: the controller's `denoise` setting"
        ),
    ] = None,
    title: Annotated[
        str,
        Form(
            description="at most 150 characters (a longer one is refused); empty: made from "
            "the text, or from the file's name"
        ),
    ] = "",
    all: Annotated[bool, Form(description="every node")] = False,
    zones: Annotated[list[str] | None, Form(description="zone codes")] = None,
    nodes: Annotated[list[str] | None, Form(description="node ids")] = None,
    play_at: Annotated[str | None, Form(description="ISO time; none plays at once")] = None,
    valid_seconds: Annotated[
        int | None, Form(ge=10, le=MAX_VALID_S, description="lapses if not started by then")
    ] = None,
    hold: Annotated[bool, Form(description="store only, to place in the programme")] = False,
    public: Annotated[
        bool,
        Form(
            description="on the listen-again pages and podcast feeds once aired; "
            "false for an internal notice"
        ),
    ] = True,
) -> BulletinOut:
    # sending straight to the loudspeakers skips approval: an approver's (or admin's) right
    require(user, "compose" if hold else "review")
    title = api_title(title, text, file.filename if file is not None else "")
    with db.session() as s:
        targets = [] if hold else resolve_targets(s, all, split_list(zones), split_list(nodes))
    start = parse_time(play_at)
    lapses = valid_until(
        start, timedelta(seconds=valid_seconds or config.default_valid_minutes * 60)
    )
    with db.session() as s:
        quiet = None if hold else programme.load(s).quiet_hours
    check_quiet_hours(quiet, start or now(), seconds=0)
    encoded, report, name = audio_for(
        config, recording(file), text, voice, emergency=False, denoise=denoise
    )
    try:
        check_quiet_hours(quiet, start or now(), seconds=duration_of(report))
    except DomainError:
        encoded.unlink(missing_ok=True)
        raise
    with db.session() as s:
        bulletin = new_bulletin(
            s,
            config,
            user,
            encoded=encoded,
            report=report,
            title=title,
            original_filename=name,
            play_at=start,
            valid_until=lapses,
            public=public,
        )
        bulletin.text = "" if name else text.strip()
        if targets:
            send(s, dispatcher, user, bulletin, targets=targets)
        return bulletin_out(s, bulletin)


def api_title(title: str, text: str, filename: str | None) -> str:
    """The title to store, checked before any audio work: the one given, or one made from the
    text, or (API clients name their files) from the file's name."""
    if not (text.strip() or filename):
        return title  # nothing to play: the audio's own refusal says so
    if title.strip() or text.strip():
        return resolved_title(title, text)
    return checked_title(title_from_filename(filename or ""))


@router.get("/bulletins", responses=ERRORS)
def list_bulletins(db: DbDep, _user: UserDep, limit: int = 50) -> list[BulletinOut]:
    with db.session() as s:
        rows = s.scalars(select(Bulletin).order_by(Bulletin.created_at.desc()).limit(limit))
        return [bulletin_out(s, b) for b in rows]


@router.get("/bulletins/{bulletin_id}", responses=ERRORS)
def get_bulletin(bulletin_id: str, db: DbDep, _user: UserDep) -> BulletinOut:
    with db.session() as s:
        return bulletin_out(s, found(s, Bulletin, bulletin_id, "bulletin"))


@router.get("/bulletins/{bulletin_id}/report", responses=ERRORS)
def get_report(bulletin_id: str, db: DbDep, _user: UserDep) -> BulletinReport:
    with db.session() as s:
        return bulletin_report(s, found(s, Bulletin, bulletin_id, "bulletin"))
