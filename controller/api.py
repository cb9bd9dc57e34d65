"""HTTP API under /api/v1 (bearer-token auth; OpenAPI at /docs)."""

from __future__ import annotations

import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller import audit
from controller.auth import user_for_token
from controller.config import ControllerConfig
from controller.db import Database
from controller.delivery_state import LOCAL
from controller.dispatcher import Dispatcher
from controller.ingest import process_upload, store_audio
from controller.models import Bulletin, Node, User, Zone, now
from controller.reports import bulletin_out, bulletin_report, local
from controller.schemas import BulletinOut, BulletinReport, NodeOut, Problem, ZoneOut

router = APIRouter(prefix="/api/v1")
bearer = HTTPBearer(auto_error=False)
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem} for code in (400, 401, 404, 413, 415, 422)
}
PAST_TOLERANCE = timedelta(seconds=60)


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_config(request: Request) -> ControllerConfig:
    config: ControllerConfig = request.app.state.config
    return config


def current_user(
    db: Annotated[Database, Depends(get_db)],
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    if creds is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token")
    with db.session() as s:
        user = user_for_token(s, creds.credentials)
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked token")
        s.expunge(user)
        return user


UserDep = Annotated[User, Depends(current_user)]
DbDep = Annotated[Database, Depends(get_db)]


@router.get("/health")
def health(request: Request) -> dict[str, object]:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return {"status": "ok", "mqtt_connected": dispatcher.connected.is_set()}


@router.get("/nodes", responses=ERRORS)
def list_nodes(db: DbDep, _user: UserDep) -> list[NodeOut]:
    with db.session() as s:
        return [
            NodeOut(
                id=n.id,
                name=n.name,
                zone=n.zone.code,
                zone_name=n.zone.name,
                latitude=n.latitude,
                longitude=n.longitude,
                status=n.status,
                playing=n.status_play_id if n.status == "playing" else None,
                last_seen=local(n.last_seen),
            )
            for n in s.scalars(select(Node).order_by(Node.id))
        ]


@router.get("/zones", responses=ERRORS)
def list_zones(db: DbDep, _user: UserDep) -> list[ZoneOut]:
    with db.session() as s:
        zones = s.scalars(select(Zone).order_by(Zone.code)).all()
        nodes = s.scalars(select(Node)).all()
        return [
            ZoneOut(code=z.code, name=z.name, nodes=sum(n.zone_id == z.id for n in nodes))
            for z in zones
        ]


def _split(values: list[str] | None) -> list[str]:
    """Accept repeated fields and comma-separated lists alike (curl users write both)."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def resolve_targets(s: Session, all_nodes: bool, zones: list[str], nodes: list[str]) -> list[str]:
    if not (all_nodes or zones or nodes):
        raise HTTPException(422, "choose the targets: all=true, zones=... or nodes=...")
    known_zones = {z.code: z.id for z in s.scalars(select(Zone))}
    node_rows = s.scalars(select(Node)).all()
    if unknown := sorted(set(zones) - known_zones.keys()):
        raise HTTPException(422, f"unknown zone(s): {', '.join(unknown)}")
    if unknown := sorted(set(nodes) - {n.id for n in node_rows}):
        raise HTTPException(422, f"unknown node(s): {', '.join(unknown)}")
    zone_ids = {known_zones[z] for z in zones}
    chosen = {n.id for n in node_rows if all_nodes or n.id in nodes or n.zone_id in zone_ids}
    if not chosen:
        raise HTTPException(422, "the chosen targets contain no loudspeaker points")
    return sorted(chosen)


def parse_play_at(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(422, f"play_at {text!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=LOCAL)  # a commune's clock: Asia/Ho_Chi_Minh
    if at < now() - PAST_TOLERANCE:
        raise HTTPException(422, f"play_at {at.isoformat()} is in the past")
    return at


def save_upload(upload: UploadFile, limit: int, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    suffix = Path(upload.filename or "").suffix[:10]
    fd, name = tempfile.mkstemp(suffix=suffix, dir=into)
    path = Path(name)
    size = 0
    with open(fd, "wb") as out:
        while block := upload.file.read(1 << 20):
            size += len(block)
            if size > limit:
                out.close()
                path.unlink()
                raise HTTPException(413, f"recording is larger than {limit // 2**20} MiB")
            out.write(block)
    if size == 0:
        path.unlink()
        raise HTTPException(422, "the uploaded file is empty")
    return path


@router.post("/bulletins", status_code=201, responses=ERRORS)
def create_bulletin(  # noqa: PLR0917 -- FastAPI takes each form field as a parameter
    request: Request,
    db: DbDep,
    user: UserDep,
    file: Annotated[UploadFile, File(description="recording: WAV, MP3, OGG/Opus, M4A, AMR, ...")],
    title: Annotated[str, Form(max_length=300)] = "",
    all: Annotated[bool, Form(description="every node")] = False,
    zones: Annotated[list[str] | None, Form(description="zone codes")] = None,
    nodes: Annotated[list[str] | None, Form(description="node ids")] = None,
    play_at: Annotated[str | None, Form(description="ISO time; none plays at once")] = None,
    valid_seconds: Annotated[
        int | None, Form(ge=10, le=7 * 24 * 3600, description="lapses if not started by then")
    ] = None,
) -> BulletinOut:
    from audio.errors import AudioError, UnsupportedFormatError

    config: ControllerConfig = request.app.state.config
    dispatcher: Dispatcher = request.app.state.dispatcher
    with db.session() as s:
        targets = resolve_targets(s, all, _split(zones), _split(nodes))
    start = parse_play_at(play_at)
    valid_until = (start or now()) + timedelta(
        seconds=valid_seconds or config.default_valid_minutes * 60
    )
    upload = save_upload(upload=file, limit=config.max_upload_bytes, into=config.data_dir / "tmp")
    try:
        encoded, report = process_upload(config, upload)
    except UnsupportedFormatError as exc:
        raise HTTPException(415, str(exc)) from None
    except AudioError as exc:
        raise HTTPException(422, str(exc)) from None
    finally:
        upload.unlink(missing_ok=True)
    try:
        with db.session() as s:
            audio = store_audio(config, s, encoded, duration_s=_duration(report))
            bulletin = Bulletin(
                id=uuid.uuid4().hex,
                title=title or (file.filename or "bulletin"),
                audio_sha256=audio.sha256,
                original_filename=file.filename or "",
                processing_report=report,
                play_at=start,
                valid_until=valid_until,
                created_by=user.id,
            )
            s.add(bulletin)
            s.flush()
            dispatcher.queue_play(s, bulletin, targets)
            audit.record(
                s,
                user.username,
                "bulletin.create",
                bulletin.id,
                title=bulletin.title,
                targets=targets,
                play_at=play_at,
            )
            s.flush()
            s.refresh(bulletin)
            out = bulletin_out(s, bulletin)
    finally:
        encoded.unlink(missing_ok=True)
    dispatcher.kick()
    return out


def _duration(report: dict[str, object]) -> float:
    value = report.get("output_duration_s") or report.get("duration_s")
    if not isinstance(value, int | float) or value <= 0:
        raise HTTPException(422, "the recording has no audible content after processing")
    return float(value)


@router.get("/bulletins", responses=ERRORS)
def list_bulletins(db: DbDep, _user: UserDep, limit: int = 50) -> list[BulletinOut]:
    with db.session() as s:
        rows = s.scalars(select(Bulletin).order_by(Bulletin.created_at.desc()).limit(limit))
        return [bulletin_out(s, b) for b in rows]


@router.get("/bulletins/{bulletin_id}", responses=ERRORS)
def get_bulletin(bulletin_id: str, db: DbDep, _user: UserDep) -> BulletinOut:
    with db.session() as s:
        return bulletin_out(s, _bulletin(s, bulletin_id))


@router.get("/bulletins/{bulletin_id}/report", responses=ERRORS)
def get_report(bulletin_id: str, db: DbDep, _user: UserDep) -> BulletinReport:
    with db.session() as s:
        return bulletin_report(s, _bulletin(s, bulletin_id))


def _bulletin(s: Session, bulletin_id: str) -> Bulletin:
    bulletin = s.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise HTTPException(404, f"no bulletin {bulletin_id}")
    return bulletin
