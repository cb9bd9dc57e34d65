"""Loudspeaker points as the pages show them: the list rows, the map and the live stream."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.models import Bulletin, Delivery, Node, NodeHealth, NodeUpdate, Zone
from controller.nodes.health import warning_codes
from controller.web.formatting import local_time


def node_rows(s: Session) -> list[dict[str, Any]]:
    """Every point with what a technician needs at a glance; JSON-ready for the live stream."""
    rows = s.execute(select(Node, Zone).join(Zone, Node.zone_id == Zone.id).order_by(Node.id)).all()
    titles = playing_titles(s, [n.status_play_id for n, _z in rows if n.status_play_id])
    warnings = warning_codes(s)
    cell: dict[str, int | None] = {
        node_id: pct
        for node_id, pct in s.execute(select(NodeHealth.node_id, NodeHealth.cell_signal_pct))
    }
    updates = {u.node_id: u for u in s.scalars(select(NodeUpdate))}
    return [
        {
            "id": node.id,
            "name": node.name,
            "zone": zone.code,
            "zone_name": zone.name,
            "lat": node.latitude if node.latitude is not None else zone.latitude,
            "lon": node.longitude if node.longitude is not None else zone.longitude,
            "status": node.status,
            "playing": node.status_play_id if node.status == "playing" else None,
            "playing_title": titles.get(node.status_play_id or "", "")
            if node.status == "playing"
            else "",
            "last_seen": local_time(node.last_seen, "%H:%M:%S %d/%m"),
            "volume": node.volume,
            "signal_dbm": node.signal_dbm,
            "cell_pct": cell.get(node.id),  # a 4G point's signal quality, 0-100
            "clock_offset_ms": node.clock_offset_ms,
            "agent_version": node.agent_version,
            "warnings": warnings.get(node.id, []),
            **update_fields(updates.get(node.id)),
        }
        for node, zone in rows
    ]


def update_fields(update: NodeUpdate | None) -> dict[str, str]:
    """The version a point should run and how its update went (updated, pending, failed,
    rolled_back); empty strings when it was never told to update."""
    if update is None:
        return {"update_target": "", "update_status": "", "update_reason": ""}
    return {
        "update_target": update.version,
        "update_status": update.status,
        "update_reason": update.reason,
    }


def playing_titles(s: Session, play_ids: list[str]) -> dict[str, str]:
    """What a playing point plays, by title (a play id is a key, not something to show)."""
    if not play_ids:
        return {}
    rows = s.execute(
        select(Delivery.play_id, Bulletin.title)
        .join(Bulletin, Delivery.bulletin_id == Bulletin.id)
        .where(Delivery.play_id.in_(play_ids))
    ).all()
    return dict(rows)


def map_points(s: Session) -> list[dict[str, Any]]:
    """The points that have coordinates (their own or their village's), for ``node_map``."""
    return [row for row in node_rows(s) if row["lat"] is not None and row["lon"] is not None]


def project(points: list[dict[str, Any]], width: int = 600, height: int = 480) -> dict[str, Any]:
    """Equirectangular projection onto an SVG canvas with a margin: a commune spans a few km,
    where the error of a flat projection is far below a loudspeaker's reach."""
    if not points:
        return {"width": width, "height": height, "points": [], "zones": []}
    lats = [p["lat"] for p in points]
    lons = [p["lon"] for p in points]
    mid_lat = math.radians((min(lats) + max(lats)) / 2)
    # metres per degree differ with latitude; scale longitude so distances look right
    xs = [lon * math.cos(mid_lat) for lon in lons]
    span_x = max(max(xs) - min(xs), 1e-4)
    span_y = max(max(lats) - min(lats), 1e-4)
    # room for the labels: a point's name is centred on it, so wide sides, shallow top
    margin_x, margin_y = 120, 70
    scale = min((width - 2 * margin_x) / span_x, (height - 2 * margin_y) / span_y)
    off_x = (width - scale * span_x) / 2
    off_y = (height - scale * span_y) / 2
    placed = [
        {
            **p,
            "x": round(off_x + (x - min(xs)) * scale, 1),
            "y": round(height - off_y - (p["lat"] - min(lats)) * scale, 1),
        }
        for p, x in zip(points, xs, strict=True)
    ]
    by_zone: dict[str, list[dict[str, Any]]] = {}
    for p in placed:
        by_zone.setdefault(p["zone"], []).append(p)
    labels = [  # a village's name centred above its points
        {
            "code": code,
            "name": members[0]["zone_name"],
            "x": sum(m["x"] for m in members) / len(members),
            "y": min(m["y"] for m in members) - 28,
        }
        for code, members in by_zone.items()
    ]
    return {"width": width, "height": height, "points": placed, "zones": labels}
