"""What a relay run gave each point: minutes of the station, and every gap with its reason.

A point's minutes relayed are the seconds it carried (its proof of play for the run's live
session) less the seconds the run filled with silence because the station was away.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.models import Delivery, RelayRun

REASONS_VI = {
    "unreachable": "không kết nối được đài",
    "ended": "đài ngừng phát",
    "stalled": "đài không gửi tiếng",
    "decode": "lỗi giải mã âm thanh",
    "too_fast": "đài gửi quá nhiều dữ liệu",
    "refused": "địa chỉ đài bị từ chối",
}


def gap_seconds(gaps: list[dict[str, Any]]) -> float:
    return sum(
        (datetime.fromisoformat(g["end"]) - datetime.fromisoformat(g["start"])).total_seconds()
        for g in gaps
        if g.get("end")
    )


def run_report(s: Session, run: RelayRun) -> dict[str, Any]:
    points = []
    if run.play_id:
        rows = s.scalars(select(Delivery).where(Delivery.play_id == run.play_id)).all()
        for d in rows:
            carried = d.live_seconds or 0.0
            relayed = max(0.0, carried - run.seconds_filled)
            points.append(
                {
                    "node_id": d.node_id,
                    "status": d.status,
                    "seconds_carried": round(carried, 1),
                    "minutes_relayed": round(relayed / 60, 2),
                    "gaps_at_point": d.live_gaps,
                }
            )
    return {
        "run_id": run.id,
        "relay_id": run.relay_id,
        "window_start": run.window_start.isoformat(),
        "window_end": run.window_end.isoformat(),
        "status": run.status,
        "reason": run.reason,
        "play_id": run.play_id,
        "bulletin_id": run.bulletin_id,
        "minutes_relayed": round(run.seconds_relayed / 60, 2),
        "seconds_relayed": run.seconds_relayed,
        "seconds_filled": run.seconds_filled,
        "gaps": [{**g, "reason_vi": REASONS_VI.get(g["reason"], g["reason"])} for g in run.gaps],
        "points": sorted(points, key=lambda p: str(p["node_id"])),
    }
