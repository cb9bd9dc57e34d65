"""A bulletin's plays as its report page and the live stream show them. Every row gets one
category, and the counts are taken from those very rows, so "3 đã phát xong" always means three
rows that say so; the airings list each airing's own start and deadline."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from controller.delivery.state import WAITING
from controller.schemas import BulletinReport, NodeReport
from controller.web.formatting import local_time
from controller.web.i18n import translate
from controller.web.live_words import live_words
from controller.web.reasons import reason_text

# In the order the tiles show them; ``targets`` (points, not plays) comes first.
CATEGORIES = ("played", "playing", "waiting", "not_played", "stopped")
ALERT_AIRING = re.compile(r"\.r(\d+)$")  # alerts name their repeats ``<bulletin>.r<k>``
EARLIEST = datetime.min.replace(tzinfo=UTC)
RESUMES = "will resume if time allows"  # node_agent/player.py: an interrupted play comes back
STOPPED_BY_OPERATOR = "stopped by operator"


def category(status: str, reason: str) -> str:
    """Which tile a play counts under. A play stopped on purpose (an alert stopped, a bulletin
    withdrawn, a point silenced) is not a failure, and a repeat still to come is waiting."""
    if status == "finished":
        return "played"
    if status == "started":
        return "playing"
    if status in WAITING or (status == "interrupted" and reason.endswith(RESUMES)):
        return "waiting"
    if status == "cancelled" or reason.startswith(STOPPED_BY_OPERATOR):
        return "stopped"
    return "not_played"


def airing_label(n: NodeReport) -> str:
    """A repeated alert's airings by number; any other airing by its start (the programme's
    airings of one bulletin differ by their day and time)."""
    if match := ALERT_AIRING.search(n.play_id):
        return match.group(1)
    return local_time(n.play_at) if n.play_at else "1"


def row(n: NodeReport, lang: str) -> dict[str, Any]:
    kind = category(n.status, n.reason)
    live_text, live_detail = live_words(n, lang)
    return {
        "node_id": n.node_id,
        "name": n.name,
        "zone": n.zone,
        "play_id": n.play_id,
        "airing": airing_label(n),
        "status": n.status,
        "category": kind,
        "status_text": translate(f"delivery.status.{n.status}", lang),
        "started_at": local_time(n.started_at, "%H:%M:%S"),
        "finished_at": local_time(n.finished_at, "%H:%M:%S"),
        "reason": n.reason,
        # a stopped play needs no excuse beside its status, and is not listed as missed
        "reason_text": "" if kind == "stopped" else reason_text(n.status, n.reason, lang),
        # a live session: what this point carried, in words, and its figures for the fold
        "live_text": live_text,
        "live_detail": live_detail,
    }


def plays(report: BulletinReport, lang: str) -> dict[str, Any]:
    rows = [row(n, lang) for n in report.nodes]
    counted = Counter(r["category"] for r in rows)
    summary = {"targets": len({r["node_id"] for r in rows})}
    summary.update({key: counted[key] for key in CATEGORIES})
    return {"summary": summary, "nodes": rows}


def airings(report: BulletinReport, lang: str) -> list[str]:
    """Each airing once, soonest first: "06:00 07/12/2026 (hạn 06:15 07/12/2026)"."""
    seen: dict[str, tuple[datetime | None, datetime | None]] = {}
    for n in report.nodes:
        seen.setdefault(n.play_id, (n.play_at, n.valid_until))
    ordered = sorted(seen.values(), key=lambda pair: pair[0] or EARLIEST)
    return [
        translate(
            "reports.airing.line",
            lang,
            at=local_time(at) if at else translate("reports.bulletin.now", lang),
            deadline=local_time(deadline),
        )
        for at, deadline in ordered
    ]
