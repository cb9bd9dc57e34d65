"""What nodes report (states and events), applied in batches: one transaction for everything
the dispatcher's worker took from its inbox at once, then the acknowledgements.

At a thousand points, one commit per event kept the worker busy on commits alone, and then the
lookups of each event kept it busy (``batch_rows`` reads them for the whole batch). Messages are
parsed before the transaction, so a malformed one never enters it; should the batch still fail
(a value the database refuses), it is applied again one report at a time, so one bad report
costs only itself. Reports are applied in the order they arrived, so each node's order holds.
A report is acknowledged only once its transaction committed; a node re-sends any event not
acknowledged, so a report lost to an error is logged here and comes again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from controller.db import Database
from controller.delivery import batch_rows, node_events
from protocol.messages import Event, EventAck, NodeState

log = logging.getLogger(__name__)
ACK_IDS_BYTES = 16 * 1024  # event ids per acknowledgement: far below the packet limit


@dataclass(frozen=True)
class Report:
    """A state or an event from ``node_id``'s topic, parsed."""

    node_id: str
    body: NodeState | Event
    retained: bool = False
    received_at: float = 0.0


@dataclass
class Applied:
    """What a committed batch asks of the dispatcher next."""

    acks: dict[str, list[str]] = field(default_factory=dict)  # node → event ids stored
    back_online: dict[str, None] = field(default_factory=dict)  # nodes, in order, once each

    def merge(self, other: Applied) -> None:
        for node_id, ids in other.acks.items():
            self.acks.setdefault(node_id, []).extend(ids)
        self.back_online.update(other.back_online)


def apply_reports(db: Database, reports: Sequence[Report]) -> Applied:
    """Apply ``reports`` in one transaction, or one by one if that fails."""
    if not reports:
        return Applied()
    try:
        return _in_one_transaction(db, reports)
    except Exception:
        if len(reports) == 1:
            log.exception("report from %s not applied", reports[0].node_id)
            return Applied()
        log.exception("a batch of %d reports failed; applying them one by one", len(reports))
    applied = Applied()
    for report in reports:
        applied.merge(apply_reports(db, [report]))
    return applied


def _in_one_transaction(db: Database, reports: Sequence[Report]) -> Applied:
    applied = Applied()
    with db.session() as s:
        batch_rows.load(s, reports)  # a few queries for the batch, not several per event
        for r in reports:
            if isinstance(r.body, NodeState):
                if node_events.take_state(
                    s, r.node_id, r.body, retained=r.retained, received_at=r.received_at
                ):
                    applied.back_online[r.node_id] = None
            elif node_events.take_event(s, r.node_id, r.body):
                applied.acks.setdefault(r.node_id, []).append(r.body.event_id)
        batch_rows.flush_events(s)
    return applied


def acknowledgements(event_ids: list[str], *, batches: bool = False) -> list[EventAck]:
    """``event_ids`` (once each, in order) in as few acknowledgements as stay small.
    ``batches``: tell the node this controller reads its events in batches (None leaves the
    field out, for an agent that does not know it)."""
    said = True if batches else None
    acks: list[EventAck] = []
    part: list[str] = []
    size = 0
    for event_id in dict.fromkeys(event_ids):
        if part and size + len(event_id) > ACK_IDS_BYTES:
            acks.append(EventAck(event_ids=part, batches=said))
            part, size = [], 0
        part.append(event_id)
        size += len(event_id)
    if part:
        acks.append(EventAck(event_ids=part, batches=said))
    return acks
