"""Turning request fields into checked values; every refusal is a 4xx that says why."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from fastapi import HTTPException, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.broadcast.audio_report import AudioReport
from controller.broadcast.ingest import process_upload
from controller.config import ControllerConfig
from controller.models import Node, Zone, now
from schedules import LOCAL

PAST_TOLERANCE = timedelta(seconds=60)


def split_list(values: list[str] | None) -> list[str]:
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


def parse_time(text: str | None, field: str = "play_at") -> datetime | None:
    """An ISO 8601 time in the future; one without a zone is Asia/Ho_Chi_Minh."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(422, f"{field} {text!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=LOCAL)
    if at < now() - PAST_TOLERANCE:
        raise HTTPException(422, f"{field} {at.isoformat()} is in the past")
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


def processed_upload(config: ControllerConfig, upload: UploadFile) -> tuple[Path, AudioReport]:
    """Save, check and run the audio pipeline on an upload; the temp upload is always removed."""
    from audio.errors import AudioError, UnsupportedFormatError

    path = save_upload(upload, config.max_upload_bytes, config.data_dir / "tmp")
    name = upload.filename or "the recording"

    def message(exc: AudioError) -> str:  # the user's file name, never our temporary copy
        return str(exc).replace(str(path), name).replace(path.name, name)

    try:
        return process_upload(config, path)
    except UnsupportedFormatError as exc:
        raise HTTPException(415, message(exc)) from None
    except AudioError as exc:
        raise HTTPException(422, message(exc)) from None
    finally:
        path.unlink(missing_ok=True)


def duration_of(report: AudioReport) -> float:
    if report.duration_s <= 0:
        raise HTTPException(422, "the recording has no audible content after processing")
    return report.duration_s


def audio_for(
    config: ControllerConfig, file: UploadFile | None, text: str, voice: str, *, emergency: bool
) -> tuple[Path, AudioReport, str]:
    """The processed audio of a recording or, if none is sent, of a text spoken by TTS;
    returns it with its report and the uploaded file's name ("" for speech)."""
    from controller.broadcast.speech import speak

    has_file = file is not None and bool(file.filename)
    if has_file == bool(text.strip()) and not (emergency and has_file):
        raise HTTPException(422, "send either a recording (file) or a text for speech")
    if file is not None and has_file:
        encoded, report = processed_upload(config, file)
        return encoded, report, file.filename or ""
    encoded, report = speak(config, text.strip(), voice=voice, emergency=emergency)
    return encoded, report, ""
