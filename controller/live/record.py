"""A live session kept as a bulletin of kind ``live``: its audio, its points, their proof.

The recording is the Ogg file the session's encoder muxed as it went (exactly what the points
were sent), stored by sha256 like any bulletin's audio. Each point gets a delivery row; the
events the points sent during the session (stored as they came, with no row to move yet) are
applied to those rows now, and later ones move them as usual (controller/delivery/node_events).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from controller.broadcast.ingest import store_audio
from controller.delivery import node_events
from controller.live.session import LiveHost, LiveSession
from controller.models import Bulletin, Delivery, NodeEvent, OutboxCommand
from protocol.messages import EVENT_ADAPTER


def withdraw_start(s: Session, session: LiveSession) -> None:
    """A point that never took the start command must not open a session that is over."""
    s.execute(
        update(OutboxCommand)
        .where(OutboxCommand.play_id == session.play_id, OutboxCommand.result == "pending")
        .values(result="withdrawn")
    )


def keep(host: LiveHost, session: LiveSession, ended_at: datetime) -> str | None:
    """Store the session's recording and its bulletin; the bulletin's id (None: no audio)."""
    path = session.recording
    if session.t0 is None or not path.exists():
        path.unlink(missing_ok=True)
        with host.db.session() as s:
            withdraw_start(s, session)
        return None
    duration = session.counters.samples_in / 48000
    with host.db.session() as s:
        withdraw_start(s, session)
        audio = store_audio(host.config, s, path, duration_s=max(duration, 0.001))
        bulletin = Bulletin(
            id=uuid.uuid4().hex,
            title=session.title[:300],
            audio_sha256=audio.sha256,
            original_filename="",
            processing_report={"live": _summary(session)},
            priority="normal",
            play_at=datetime.fromtimestamp(session.t0, UTC),
            valid_until=ended_at,
            created_by=session.user.id,
            status="sent",
            request={"targets": session.request.targets, "reason": session.request.reason},
            public=False,  # a live call ("a child is lost") is not for the listen-again pages
            kind="live",
        )
        s.add(bulletin)
        s.flush()
        for node_id in session.request.targets:
            s.add(
                Delivery(
                    play_id=session.play_id,
                    bulletin_id=bulletin.id,
                    node_id=node_id,
                    valid_until=ended_at,
                    status="queued",
                )
            )
        s.flush()
        replay_events(s, session)
        return bulletin.id


def replay_events(s: Session, session: LiveSession) -> None:
    """Apply the stored events about the session (in the order the points made them)."""
    rows = s.scalars(
        select(NodeEvent)
        .where(
            NodeEvent.received_at >= session.opened_at,
            NodeEvent.node_id.in_(session.request.targets),
            NodeEvent.type.in_(("started", "finished", "interrupted", "failed", "live_report")),
        )
        .order_by(NodeEvent.at)
    ).all()
    for row in rows:
        if row.payload.get("play_id") != session.play_id:
            continue
        node_events.apply(s, EVENT_ADAPTER.validate_python(row.payload))


def _summary(session: LiveSession) -> dict[str, object]:
    c = session.counters
    return {
        "session_id": session.id,
        "source": session.request.source,
        "frame_ms": session.request.frame_ms,
        "delay_ms": session.request.delay_ms,
        "packets_sent": c.packets_sent,
        "packets_refused": c.packets_refused,
        "source_gaps": c.source_gaps,
        "seconds": round(c.samples_in / 48000, 3),
    }
