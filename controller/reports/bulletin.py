"""The per-bulletin report: which nodes played it and when, which did not and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.delivery.state import NOT_PLAYED, PLAYED, WAITING
from controller.models import Bulletin, Delivery, Node, User
from controller.nodes.health import clock_wrong
from controller.schemas import BulletinOut, BulletinReport, NodeReport, ReportSummary
from schedules import LOCAL


def local(at: datetime | None) -> datetime | None:
    return at.astimezone(LOCAL) if at else None


def bulletin_out(db: Session, bulletin: Bulletin) -> BulletinOut:
    author = db.get(User, bulletin.created_by)
    return BulletinOut(
        id=bulletin.id,
        title=bulletin.title,
        audio_sha256=bulletin.audio_sha256,
        duration_s=bulletin.audio.duration_s,
        priority=bulletin.priority,
        play_at=local(bulletin.play_at),
        valid_until=local(bulletin.valid_until),
        created_at=local(bulletin.created_at),
        created_by=author.username if author else "?",
        targets=len(bulletin.deliveries),
        public=bulletin.public,
        kind=bulletin.kind,
        processing_report=bulletin.processing_report,
        status=bulletin.status,
        text=bulletin.text,
    )


def held_reason(delivery: Delivery, node: Node) -> str:
    """Why a timed play still waits at a point whose clock is wrong: the point holds it (see
    node_agent/clock_check.py) and plays it once its clock is right, if it is still valid."""
    wrong = clock_wrong(node.clock_offset_ms)
    if wrong is None or delivery.status not in WAITING or delivery.play_at is None:
        return ""
    way = "ahead of" if wrong.code == "clock_ahead" else "behind"
    span = f"{wrong.values['min']} min {wrong.values['s']} s"
    return f"held: this point's clock is {span} {way} the controller's"


def bulletin_report(db: Session, bulletin: Bulletin) -> BulletinReport:
    rows = db.execute(
        select(Delivery, Node)
        .join(Node, Delivery.node_id == Node.id)
        .where(Delivery.bulletin_id == bulletin.id)
        .order_by(Node.id, Delivery.play_id)
    ).all()
    nodes = [
        NodeReport(
            node_id=node.id,
            name=node.name,
            zone=node.zone.code,
            play_id=d.play_id,
            play_at=local(d.play_at),
            valid_until=local(d.valid_until or bulletin.valid_until),
            played=d.status in PLAYED,
            status=d.status,
            started_at=local(d.started_at),
            finished_at=local(d.finished_at),
            reason=d.reason or held_reason(d, node),
            live_seconds=d.live_seconds,
            live_gaps=d.live_gaps,
            live_lost=d.live_lost,
            live_breaks=d.live_breaks,
        )
        for d, node in rows
    ]
    # A node counts once: played if any airing started, missed if every airing ended unplayed.
    by_node: dict[str, list[NodeReport]] = {}
    for n in nodes:
        by_node.setdefault(n.node_id, []).append(n)
    played = [k for k, v in by_node.items() if any(n.played for n in v)]
    missed = [k for k, v in by_node.items() if all(n.status in NOT_PLAYED for n in v)]
    text = f"played at {len(played)} of {len(by_node)} points"
    if missed:
        text += "; not played: " + "; ".join(
            f"{k} ({by_node[k][-1].reason})" for k in sorted(missed)
        )
    summary = ReportSummary(
        targets=len(by_node),
        played=len(played),
        completed=sum(any(n.status == "finished" for n in v) for v in by_node.values()),
        not_played=len(missed),
        pending=len(by_node) - len(played) - len(missed),
        text=text,
    )
    return BulletinReport(bulletin=bulletin_out(db, bulletin), summary=summary, nodes=nodes)
