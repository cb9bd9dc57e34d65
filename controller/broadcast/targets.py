"""Where a broadcast goes: every point, villages (zones) or single points, resolved to node ids."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.errors import InvalidInputError
from controller.models import Node, Zone


def split_list(values: list[str] | None) -> list[str]:
    """Accept repeated fields and comma-separated lists alike (curl users write both)."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def resolve_targets(s: Session, all_nodes: bool, zones: list[str], nodes: list[str]) -> list[str]:
    if not (all_nodes or zones or nodes):
        raise InvalidInputError(
            "targets.none",
            "choose the targets: all=true, zones=... or nodes=...",
            "Hãy chọn nơi phát: toàn xã, thôn hoặc điểm loa.",
            field="targets",
        )
    known_zones = {z.code: z.id for z in s.scalars(select(Zone))}
    node_rows = s.scalars(select(Node)).all()
    if unknown := sorted(set(zones) - known_zones.keys()):
        raise InvalidInputError(
            "targets.unknown_zone",
            f"unknown zone(s): {', '.join(unknown)}",
            f"Không có thôn: {', '.join(unknown)}",
            field="zones",
        )
    if unknown := sorted(set(nodes) - {n.id for n in node_rows}):
        raise InvalidInputError(
            "targets.unknown_node",
            f"unknown node(s): {', '.join(unknown)}",
            f"Không có điểm loa: {', '.join(unknown)}",
            field="nodes",
        )
    zone_ids = {known_zones[z] for z in zones}
    chosen = {n.id for n in node_rows if all_nodes or n.id in nodes or n.zone_id in zone_ids}
    if not chosen:
        raise InvalidInputError(
            "targets.empty",
            "the chosen targets contain no loudspeaker points",
            "Nơi đã chọn không có điểm loa nào.",
            field="targets",
        )
    return sorted(chosen)
