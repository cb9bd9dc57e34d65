"""How a delivery's status moves as node events arrive, possibly late and out of order."""

from __future__ import annotations

from datetime import datetime

from controller.models import Delivery, Node, now
from schedules import LOCAL

PROGRESS = ("queued", "acknowledged", "received", "ready", "started", "finished")
NOT_PLAYED = ("failed", "expired", "cancelled", "rejected", "interrupted")
PLAYED = ("started", "finished")


def advance(delivery: Delivery, kind: str, at: datetime, reason: str = "") -> None:
    """Apply one node event. Progress only moves forward, except that a node's own word that
    it started or finished beats the controller's guess that the bulletin expired."""
    current = delivery.status
    if kind == "acknowledged":
        delivery.acknowledged_at = delivery.acknowledged_at or at
    elif kind == "ready":
        delivery.ready_at = delivery.ready_at or at
    elif kind == "started":
        delivery.started_at = at
    elif kind == "finished":
        delivery.finished_at = at
    if kind in PROGRESS:
        if current in PLAYED and kind not in PLAYED:
            return
        if current in PROGRESS and PROGRESS.index(kind) <= PROGRESS.index(current):
            return
        if current in NOT_PLAYED and current != "expired" and kind not in PLAYED:
            return
        delivery.status, delivery.reason = kind, ""
    elif kind in NOT_PLAYED:
        if current == "finished":
            return
        delivery.status, delivery.reason = kind, reason or kind
    delivery.updated_at = now()


def expiry_reason(delivery: Delivery, node: Node, valid_until: datetime) -> str:
    deadline = local_text(valid_until)
    if node.status == "offline":
        seen = f"since {local_text(node.last_seen)}" if node.last_seen else "and never connected"
        return f"node offline {seen}; bulletin expired at {deadline} before it could play"
    if delivery.status == "queued":
        return f"node never acknowledged the command before {deadline}"
    return f"not started before {deadline} (last status: {delivery.status})"


def local_text(at: datetime | None) -> str:
    return at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M:%S %z") if at else "-"
