"""Events from nodes: their state (online, playing, offline) and what they report about each
command and play, applied to the nodes' rows and to delivery state.

Nodes re-send an event until it is acknowledged, so each is stored once, by its id, and applied
only the first time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from controller import notifications
from controller.delivery import batch_rows
from controller.delivery.availability import record_status
from controller.delivery.state import DeliveryStatus, advance
from controller.models import Delivery, Node, NodeEvent, OutboxCommand, now
from controller.nodes import health as node_health
from controller.releases import rollout
from protocol.messages import (
    GROUP_COMMANDS,
    CommandAck,
    Event,
    LiveReport,
    NodeState,
    PlayEvent,
    RejectedPayload,
    UpdateEvent,
)

log = logging.getLogger(__name__)
# A rejection concerns no delivery and a node's account can send them at will, so each node
# keeps only its newest ones: enough to see what it refused and why.
REJECTIONS_KEPT = 100
NOT_PLAYED_BY_POINT: tuple[DeliveryStatus, ...] = ("failed", "rejected")

# What a node says about one event (a reason, the topic it refused) is for a person to read; the
# broker lets a payload reach 256 KB, so each text is cut here, where it enters, with a marker.
TEXT_KEPT = 1024
CUT_MARKER = " …[cut: {dropped} more characters]"


def take_state(
    s: Session, node_id: str, state: NodeState, *, retained: bool, received_at: float
) -> bool:
    """Record a node's state in ``s``; True when it has just come back online (time to send it
    what it missed). ``retained``: the broker's stored copy, possibly hours old."""
    node = s.get(Node, node_id)
    if node is None:
        log.warning("state from unknown node %s", node_id)
        return False
    came_online = node.status == "offline" and state.status != "offline"
    if node.status != state.status:
        record_status(s, node_id, state.status, now())
    node.status = state.status
    node.status_play_id = state.play_id
    node.last_seen = now() if state.status != "offline" else (node.last_seen or state.at)
    if state.status != "offline":
        _take_health(s, node, state, retained=retained, received_at=received_at)
    return came_online


def _take_health(
    s: Session, node: Node, state: NodeState, *, retained: bool, received_at: float
) -> None:
    """Copy what a live node reports about itself. An offline state carries none of it (the
    Last Will was written at connect time), so it never reaches here."""
    node.volume = state.volume
    node.signal_dbm = state.signal_dbm
    node.agent_version = state.agent_version
    node.group_commands = GROUP_COMMANDS in state.capabilities
    # A retained state may be hours old, so only a fresh one says how far the node's clock is
    # from ours; the figure includes the one-way trip through the broker (milliseconds).
    received = datetime.fromtimestamp(received_at, UTC)
    if not retained:
        node.clock_offset_ms = (state.at - received).total_seconds() * 1000
    if state.health is not None:
        # measured when the node sent it; a retained copy says so itself (a node's clock can
        # be off, so never later than it reached us)
        measured = min(state.at, received) if retained else received
        node_health.record(s, node.id, state.health, measured)


def take_event(s: Session, node_id: str, event: Event) -> bool:
    """Store and apply in ``s`` one event from ``node_id``'s topic; False when it must not be
    acknowledged (it claims another node, or comes from a node we do not know)."""
    if event.node_id != node_id:
        log.warning("event on %s's topic claims node %s; dropped", node_id, event.node_id)
        return False
    node = s.get(Node, node_id)
    if node is None:
        return False
    node.last_seen = now()
    event = capped(event)
    if batch_rows.is_new_event(s, event.event_id):
        batch_rows.add_event(
            s,
            {
                "event_id": event.event_id,
                "node_id": node_id,
                "type": event.type,
                "at": event.at,
                "payload": event.model_dump(mode="json"),
                "received_at": now(),
            },
        )
        apply(s, event)
        if isinstance(event, RejectedPayload):
            _keep_newest_rejections(s, node_id)
    return True


def capped(event: Event) -> Event:
    """``event`` with each free text a node wrote cut to :data:`TEXT_KEPT` characters."""
    changes = {
        field: _cut(text)
        for field in ("reason", "topic")
        if isinstance(text := getattr(event, field, None), str) and len(text) > TEXT_KEPT
    }
    return event.model_copy(update=changes) if changes else event


def _cut(text: str) -> str:
    return text[:TEXT_KEPT] + CUT_MARKER.format(dropped=len(text) - TEXT_KEPT)


def _keep_newest_rejections(s: Session, node_id: str) -> None:
    batch_rows.flush_events(s)
    s.flush()
    mine = (NodeEvent.node_id == node_id) & (NodeEvent.type == "rejected")
    oldest_kept = (
        select(NodeEvent.received_at)
        .where(mine)
        .order_by(NodeEvent.received_at.desc())
        .offset(REJECTIONS_KEPT - 1)
        .limit(1)
        .scalar_subquery()
    )
    s.execute(delete(NodeEvent).where(mine, NodeEvent.received_at < oldest_kept))


def apply(s: Session, event: Event) -> None:
    """Move the outbox and delivery state as ``event`` says."""
    if isinstance(event, CommandAck):
        cmd = s.get(OutboxCommand, (event.command_id, event.node_id))
        if cmd is None:
            return
        cmd.acked_at = now()
        cmd.result = "acked" if event.accepted else "nacked"
        if cmd.play_id is None:
            rollout.take_ack(s, event)
        delivery = _delivery(s, cmd.play_id, event.node_id)
        if delivery is not None and event.accepted:
            advance(delivery, "acknowledged", event.at)
        elif delivery is not None:
            _advance_told(s, delivery, "rejected", event.at, event.reason)
    elif isinstance(event, PlayEvent):
        delivery = _delivery(s, event.play_id, event.node_id)
        # a "failed" that was cut off mid-air is reported as interrupted, with its reason
        kind: DeliveryStatus = (
            "interrupted" if event.type == "failed" and event.interrupted else event.type
        )
        if delivery is not None:
            _advance_told(s, delivery, kind, event.at, event.reason)
    elif isinstance(event, UpdateEvent):
        rollout.take_event(s, event)
    elif isinstance(event, LiveReport):
        take_live_report(s, event)
    else:
        log.warning("node %s rejected a payload: %s", event.node_id, event.reason)


def _advance_told(
    s: Session, delivery: Delivery, kind: DeliveryStatus, at: datetime, reason: str
) -> None:
    """``advance``, and tell the bulletin's author when the point says it will not play it
    (an interrupted play may still resume; a cancelled one was someone's decision)."""
    before = delivery.status
    advance(delivery, kind, at, reason)
    if delivery.status in NOT_PLAYED_BY_POINT and delivery.status != before:
        notifications.not_played(s, delivery.bulletin, 1)


def take_live_report(s: Session, report: LiveReport) -> None:
    """A point's proof of play of a live session: what it carried, and how it ended there."""
    delivery = _delivery(s, report.play_id, report.node_id)
    if delivery is None:
        return  # the session is still on: controller/live/record.py applies it at the end
    delivery.live_seconds = report.seconds
    delivery.live_gaps = report.gaps
    delivery.live_lost = report.packets_lost
    delivery.live_breaks = [b.model_dump(mode="json") for b in report.breaks]
    if report.started_at is not None and delivery.started_at is None:
        advance(delivery, "started", report.started_at)
    if report.outcome in ("finished", "quiet") and report.ended_at is not None:
        advance(delivery, "finished", report.ended_at)
    elif report.outcome == "interrupted":
        advance(delivery, "interrupted", report.ended_at or report.at, report.reason)
    elif report.outcome == "failed":
        advance(delivery, "failed", report.at, report.reason or "live session never sounded")


def _delivery(s: Session, play_id: str | None, node_id: str) -> Delivery | None:
    if play_id is None:
        return None
    return batch_rows.delivery(s, play_id, node_id)
