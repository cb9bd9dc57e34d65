"""How much of the time each loudspeaker point was reachable, from its status history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controller.models import NodeStatusLog

ONLINE = frozenset({"online", "playing"})  # a point that is playing is reachable too

Change = tuple[datetime, str]  # (when, the status from then on)


def record_status(s: Session, node_id: str, status: str, at: datetime) -> None:
    """Log a change of status; the caller calls it only when the status really changed."""
    s.add(NodeStatusLog(node_id=node_id, status=status, at=at))


def availability(
    changes: Iterable[Change], start: datetime, end: datetime, now: datetime
) -> float | None:
    """Percentage of ``[start, min(end, now))`` during which the point was online.

    ``changes`` may begin before ``start`` (the last one before it gives the status at
    ``start``) and need not be sorted. Before its first change a point counts as offline: it
    had not reported yet. None when none of the period has elapsed (a month in the future).
    """
    stop = min(end, now)
    if stop <= start:
        return None
    online_s = 0.0
    status, since = "offline", start
    for at, new in sorted(changes, key=lambda c: c[0]):  # stable: same instant keeps order
        if at >= stop:
            break
        if at > since:
            if status in ONLINE:
                online_s += (at - since).total_seconds()
            since = at
        status = new
    if status in ONLINE:
        online_s += (stop - since).total_seconds()
    return 100.0 * online_s / (stop - start).total_seconds()


def changes_for(
    s: Session, node_ids: list[str], start: datetime, until: datetime
) -> dict[str, list[Change]]:
    """Each node's changes in ``[start, until)``, oldest first, after the last one before
    ``start`` (the status the period began with)."""
    before = (
        select(NodeStatusLog.node_id, func.max(NodeStatusLog.at).label("at"))
        .where(NodeStatusLog.node_id.in_(node_ids), NodeStatusLog.at < start)
        .group_by(NodeStatusLog.node_id)
        .subquery()
    )
    opening = select(NodeStatusLog.node_id, NodeStatusLog.at, NodeStatusLog.status).join(
        before, (NodeStatusLog.node_id == before.c.node_id) & (NodeStatusLog.at == before.c.at)
    )
    within = select(NodeStatusLog.node_id, NodeStatusLog.at, NodeStatusLog.status).where(
        NodeStatusLog.node_id.in_(node_ids),
        NodeStatusLog.at >= start,
        NodeStatusLog.at < until,
    )
    out: dict[str, list[Change]] = {n: [] for n in node_ids}
    for query in (opening, within.order_by(NodeStatusLog.at, NodeStatusLog.id)):
        for node_id, at, status in s.execute(query):
            out[node_id].append((at, status))
    return out
