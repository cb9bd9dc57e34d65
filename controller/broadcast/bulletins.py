"""Creating a bulletin and queueing its plays: shared by uploads, text-to-speech and alerts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from controller import audit
from controller.broadcast.audio_report import AudioReport
from controller.broadcast.ingest import store_audio
from controller.broadcast.media import duration_of
from controller.config import ControllerConfig
from controller.delivery.dispatcher import Dispatcher
from controller.models import Bulletin, User


@dataclass(frozen=True)
class Airing:
    play_id: str
    play_at: datetime | None


def new_bulletin(
    s: Session,
    config: ControllerConfig,
    user: User,
    *,
    encoded: Path,
    report: AudioReport,
    title: str,
    original_filename: str = "",
    priority: str = "normal",
    play_at: datetime | None = None,
    valid_until: datetime,
    public: bool = True,
) -> Bulletin:
    """Store the encoded audio (once per sha256) and the bulletin row; ``encoded`` is consumed.
    ``public``: listed on the listen-again pages once aired (``controller.public.listing``)."""
    try:
        audio = store_audio(config, s, encoded, duration_s=duration_of(report))
    finally:
        encoded.unlink(missing_ok=True)
    bulletin = Bulletin(
        id=uuid.uuid4().hex,
        title=title,
        audio_sha256=audio.sha256,
        original_filename=original_filename,
        processing_report=report.stored(),
        priority=priority,
        play_at=play_at,
        valid_until=valid_until,
        created_by=user.id,
        public=public,
    )
    s.add(bulletin)
    s.flush()
    return bulletin


def send(
    s: Session,
    dispatcher: Dispatcher,
    user: User,
    bulletin: Bulletin,
    *,
    targets: list[str],
    airings: list[Airing] | None = None,
) -> None:
    """Queue the bulletin's plays (default: one, at its own time) for ``targets``."""
    for airing in airings or [Airing(bulletin.id, bulletin.play_at)]:
        dispatcher.queue_play(s, bulletin, targets, play_id=airing.play_id, play_at=airing.play_at)
    audit.record(
        s,
        user.username,
        "bulletin.send",
        bulletin.id,
        title=bulletin.title,
        targets=targets,
        priority=bulletin.priority,
        airings=[a.play_id for a in airings or []],
    )
    s.flush()
    s.refresh(bulletin)
