"""The rows a batch of node reports touches, read in a handful of queries before it is applied.

Applied one by one, each event looked up its node, whether it was already stored, its command
and its delivery: four or five SELECTs per event, each after an autoflush, about 1 ms of the
dispatcher's one thread per event. At a thousand points an emergency brings four or five
thousand events back within a second, and the thread that spent seconds on them held the GIL
that paho's network thread needs to push the next commands out (BENCHMARKS.md, "Scale").
Read here per batch with ``IN`` lists, the lookups during the batch come from the session:
the number of queries no longer grows with the number of events.

The session's identity map holds its objects weakly, so the rows are kept in ``Session.info``
for the transaction; a lookup this batch did not foresee still goes to the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from controller.models import Delivery, Node, NodeEvent, NodeHealth, OutboxCommand
from protocol.messages import CommandAck, LiveReport, NodeState, PlayEvent

if TYPE_CHECKING:
    from controller.delivery.intake import Report

_KEY = "loa.delivery.batch_rows"


@dataclass
class BatchRows:
    """What ``load`` read for one transaction; the lists only keep the objects alive."""

    known_events: set[str] = field(default_factory=set)  # stored before, or earlier in the batch
    deliveries: dict[tuple[str, str], Delivery] = field(default_factory=dict)
    play_ids: set[str] = field(default_factory=set)  # plays whose deliveries were all read
    node_ids: set[str] = field(default_factory=set)
    kept: list[object] = field(default_factory=list)
    new_events: list[dict[str, Any]] = field(default_factory=list)  # rows of node_events to add


def load(s: Session, reports: Sequence[Report]) -> BatchRows:
    """Read every row ``reports`` will look up into ``s``, and remember them for the batch."""
    node_ids = {r.node_id for r in reports}
    events = [r.body for r in reports if not isinstance(r.body, NodeState)]
    rows = BatchRows(node_ids=node_ids)
    rows.kept += s.scalars(select(Node).where(Node.id.in_(node_ids))).all()
    healthy = {r.node_id for r in reports if isinstance(r.body, NodeState) and r.body.health}
    if healthy:
        rows.kept += s.scalars(select(NodeHealth).where(NodeHealth.node_id.in_(healthy))).all()
    if event_ids := {e.event_id for e in events}:
        stored = select(NodeEvent.event_id).where(NodeEvent.event_id.in_(event_ids))
        rows.known_events.update(s.scalars(stored))
    play_ids = {e.play_id for e in events if isinstance(e, PlayEvent | LiveReport)}
    if acked := {(e.command_id, e.node_id) for e in events if isinstance(e, CommandAck)}:
        # one row per (command, node): a group command's id is shared by its points. Two
        # plain INs run on the key's index (a row-value IN scans the table in SQLite); the
        # few rows of other pairs they also match are dropped here.
        ids, nodes = {c for c, _ in acked}, {n for _, n in acked}
        query = select(OutboxCommand).where(
            OutboxCommand.command_id.in_(ids), OutboxCommand.node_id.in_(nodes)
        )
        commands = [c for c in s.scalars(query) if (c.command_id, c.node_id) in acked]
        rows.kept += commands
        play_ids |= {c.play_id for c in commands if c.play_id is not None}
    if play_ids:
        found = s.scalars(
            select(Delivery).where(Delivery.play_id.in_(play_ids), Delivery.node_id.in_(node_ids))
        ).all()
        rows.deliveries = {(d.play_id, d.node_id): d for d in found}
        rows.play_ids = play_ids
    s.info[_KEY] = rows
    return rows


def of(s: Session) -> BatchRows | None:
    """The rows read for the batch ``s`` is applying, if it is applying one."""
    rows = s.info.get(_KEY)
    return rows if isinstance(rows, BatchRows) else None


def is_new_event(s: Session, event_id: str) -> bool:
    """True the first time ``event_id`` is seen (stored before, or earlier in this batch)."""
    rows = of(s)
    if rows is None:
        return s.get(NodeEvent, event_id) is None
    if event_id in rows.known_events:
        return False
    rows.known_events.add(event_id)
    return True


def add_event(s: Session, values: dict[str, Any]) -> None:
    """Store a node's event (the columns of ``NodeEvent``). In a batch the rows wait for
    :func:`flush_events`, one multi-row INSERT: made one ORM object each, four or five thousand
    events per emergency at a thousand points cost the dispatcher a third of its time in the
    unit of work's bookkeeping, for rows nothing in the batch reads back."""
    rows = of(s)
    if rows is None:
        s.add(NodeEvent(**values))
    else:
        rows.new_events.append(values)


def flush_events(s: Session) -> None:
    """Write the events :func:`add_event` holds: before the batch commits, and before any
    query of ``node_events`` inside it."""
    rows = of(s)
    if rows is not None and rows.new_events:
        values, rows.new_events = rows.new_events, []
        s.execute(insert(NodeEvent), values)


def delivery(s: Session, play_id: str, node_id: str) -> Delivery | None:
    """``play_id``'s delivery to ``node_id``, from the batch's rows when they hold it."""
    rows = of(s)
    if rows is not None and play_id in rows.play_ids and node_id in rows.node_ids:
        return rows.deliveries.get((play_id, node_id))
    return s.scalar(
        select(Delivery).where(Delivery.play_id == play_id, Delivery.node_id == node_id)
    )
