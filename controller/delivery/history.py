"""Delivery's history that grows with every bulletin and point and is no longer needed after
a while: settled commands (acknowledged, refused, expired, withdrawn) and node events, deleted
once older than ``history_retention_days`` by the controller's housekeeping job.

Reports never read these rows: the bulletin and monthly reports read deliveries, bulletins,
alerts and the nodes' status log, which are kept. A pending command is never deleted,
however old (the next pass marks it expired first). Deletes go in parts of ``PART_ROWS``, each
its own short transaction, so a year's backlog never holds up the dispatcher's writes for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import InstrumentedAttribute

from controller.db import Database
from controller.models import CommandEnvelope, NodeEvent, OutboxCommand, now

SETTLED_COMMANDS = ("acked", "nacked", "expired", "withdrawn")
PART_ROWS = 5000


@dataclass(frozen=True)
class Pruned:
    commands: int
    events: int


def prune(db: Database, retention: timedelta, *, part_rows: int = PART_ROWS) -> Pruned:
    """Delete the settled commands that expired, and the events received, before
    ``retention`` ago; returns how many of each."""
    cutoff = now() - retention
    commands = _delete_in_parts(
        db,
        OutboxCommand.command_id,
        OutboxCommand.result.in_(SETTLED_COMMANDS) & (OutboxCommand.expires_at < cutoff),
        part_rows,
    )
    # an envelope goes with the last of its rows (a group's may still have open ones)
    used = select(OutboxCommand.command_id).where(
        OutboxCommand.command_id == CommandEnvelope.command_id
    )
    _delete_in_parts(db, CommandEnvelope.command_id, ~used.exists(), part_rows)
    events = _delete_in_parts(db, NodeEvent.event_id, NodeEvent.received_at < cutoff, part_rows)
    return Pruned(commands, events)


def _delete_in_parts(
    db: Database, key: InstrumentedAttribute[str], old: ColumnElement[bool], part_rows: int
) -> int:
    table = key.class_
    total = 0
    while True:
        with db.session() as s:
            part = select(key).where(old).limit(part_rows)
            # ``old`` again: a group command's rows share its id, and only its old ones go
            deleted = s.connection().execute(delete(table).where(old, key.in_(part))).rowcount
        total += deleted
        if deleted < part_rows:
            return total
