"""The per-bulletin report: which nodes played it and when, which did not and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.delivery_state import LOCAL, NOT_PLAYED, PLAYED
from controller.models import Bulletin, Delivery, Node, User
from controller.schemas import BulletinOut, BulletinReport, NodeReport, ReportSummary


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
        processing_report=bulletin.processing_report,
    )


def bulletin_report(db: Session, bulletin: Bulletin) -> BulletinReport:
    rows = db.execute(
        select(Delivery, Node)
        .join(Node, Delivery.node_id == Node.id)
        .where(Delivery.bulletin_id == bulletin.id)
        .order_by(Node.id)
    ).all()
    nodes = [
        NodeReport(
            node_id=node.id,
            name=node.name,
            zone=node.zone.code,
            played=d.status in PLAYED,
            status=d.status,
            started_at=local(d.started_at),
            finished_at=local(d.finished_at),
            reason=d.reason,
        )
        for d, node in rows
    ]
    played = sum(n.played for n in nodes)
    missed = [n for n in nodes if n.status in NOT_PLAYED]
    text = f"played at {played} of {len(nodes)} points"
    if missed:
        text += "; not played: " + "; ".join(f"{n.node_id} ({n.reason})" for n in missed)
    summary = ReportSummary(
        targets=len(nodes),
        played=played,
        completed=sum(n.status == "finished" for n in nodes),
        not_played=len(missed),
        pending=len(nodes) - played - len(missed),
        text=text,
    )
    return BulletinReport(bulletin=bulletin_out(db, bulletin), summary=summary, nodes=nodes)
