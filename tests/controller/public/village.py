"""What the listen-again tests put on the air: bulletins with real Opus audio, points of a
village that reported playing them, alerts in force, on the commune of ``tests.controller``."""

from __future__ import annotations

import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select

from audio.encode import write_audio
from controller.broadcast.ingest import store_audio
from controller.config import ControllerConfig
from controller.db import Database
from controller.models import Alert, Bulletin, Delivery, Node, User, Zone, now

SR = 16_000


def tone(seconds: float = 2.0, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR), dtype=np.float32) / SR
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def put_on_air(
    config: ControllerConfig,
    db: Database,
    *,
    title: str = "Lịch tiêm phòng cho trẻ",
    zones: tuple[str, ...] = ("thon-dong",),
    status: str = "sent",
    public: bool = True,
    delivery: str = "finished",
    heard_at: datetime | None = None,
    text: str = "",
    play_at: datetime | None = None,
    hz: float = 440.0,
) -> str:
    """A bulletin with real audio whose deliveries to every point of ``zones`` stand at
    ``delivery`` (played: "started"/"finished"); returns its id."""
    with tempfile.TemporaryDirectory() as tmp:
        encoded = Path(tmp) / "a.ogg"
        write_audio(encoded, tone(hz=hz), SR)
        with db.session() as s:
            audio = store_audio(config, s, encoded, duration_s=2.0)
            author = s.scalar(select(User).where(User.username == "phatthanh"))
            assert author is not None
            report = {"tts": {"text": text}} if text else {}
            bulletin = Bulletin(
                id=uuid.uuid4().hex,
                title=title,
                audio_sha256=audio.sha256,
                processing_report=report,
                valid_until=now() + timedelta(hours=2),
                created_by=author.id,
                status=status,
                public=public,
                play_at=play_at,
            )
            s.add(bulletin)
            at = heard_at or now() - timedelta(minutes=30)
            played = delivery in ("started", "finished", "interrupted")
            for node in nodes_in(db, zones):
                s.add(
                    Delivery(
                        play_id=bulletin.id,
                        bulletin_id=bulletin.id,
                        node_id=node,
                        status=delivery,
                        started_at=at if played else None,
                        finished_at=at + timedelta(seconds=2) if delivery == "finished" else None,
                    )
                )
            return bulletin.id


def nodes_in(db: Database, zones: tuple[str, ...]) -> list[str]:
    with db.session() as s:
        query = select(Node.id).join(Zone, Node.zone_id == Zone.id).where(Zone.code.in_(zones))
        return sorted(s.scalars(query))


def raise_alert(
    config: ControllerConfig,
    db: Database,
    text: str,
    *,
    zones: tuple[str, ...] = ("thon-dong",),
    state: str = "active",
    replaces: str | None = None,
    played: bool = True,
) -> str:
    """An alert in ``state`` over ``zones``, its bulletin played there if ``played``; returns
    the alert's id."""
    bulletin_id = put_on_air(
        config,
        db,
        title="KHẨN CẤP: " + text[:60],
        zones=zones,
        public=False,  # an alert is public whatever its bulletin's column says
        delivery="finished" if played else "queued",
        hz=880.0,
    )
    with db.session() as s:
        author = s.scalar(select(User).where(User.username == "admin"))
        assert author is not None
        alert = Alert(
            id=uuid.uuid4().hex,
            bulletin_id=bulletin_id,
            state=state,
            text=text,
            targets=nodes_in(db, zones),
            expires_at=now() + timedelta(hours=1),
            proposed_by=author.id,
            sent_at=now() - timedelta(minutes=5),
            replaces=replaces,
        )
        s.add(alert)
        return alert.id
