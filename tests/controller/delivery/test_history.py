"""History that grows with every bulletin: the scans of the dispatcher run on indexes (SQLite's
own query plan says so), the migration that adds them upgrades a database of the previous
head, and pruning deletes only what is old and settled, leaving the reports as they were."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import ClauseElement, create_engine, inspect, select, text, update
from sqlalchemy.dialects import sqlite

from controller import jobs
from controller.db import Database, migrate
from controller.delivery import history, outbox
from controller.delivery.dispatcher import Dispatcher
from controller.models import Bulletin, Delivery, NodeEvent, OutboxCommand, now
from controller.reports import bulletin_report, monthly_report
from controller.reports.monthly import month_of
from protocol.messages import CommandAck, PlayEvent, SetVolumeCommand
from tests.controller.commune import Commune
from tests.controller.delivery.test_batches import incoming, play_everywhere

PREVIOUS_HEAD = "d5e8f1a2b3c4"


def query_plan(db: Database, query: ClauseElement) -> str:
    sql = query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
    return "\n".join(str(row[-1]) for row in rows)


def test_the_pending_scans_run_on_indexes(commune: Commune) -> None:
    every_pass = query_plan(commune.db, outbox.pending())
    assert "SEARCH outbox USING INDEX ix_outbox_result_expires_at (result=?)" in every_pass
    assert "TEMP B-TREE" not in every_pass  # soonest expiry first straight from the index
    back_online = query_plan(commune.db, outbox.pending(["loa-1", "loa-2"]))
    assert "SEARCH outbox USING INDEX" in back_online
    waiting = query_plan(commune.db, outbox.waiting())
    assert "SEARCH deliveries USING INDEX ix_deliveries_status (status=?)" in waiting


def test_the_migration_upgrades_a_database_of_the_previous_head(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate(engine, PREVIOUS_HEAD)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO node_events (event_id, node_id, type, at, payload, received_at) "
                "VALUES ('e1', 'loa-1', 'started', '2026-01-01 00:00:00', '{}', "
                "'2026-01-01 00:00:00')"
            )
        )
    migrate(engine)
    indexes = {
        table: {ix["name"] for ix in inspect(engine).get_indexes(table)}
        for table in ("outbox", "deliveries", "node_events")
    }
    assert {"ix_outbox_result_expires_at", "ix_outbox_node_id_result", "ix_outbox_play_id"} <= (
        indexes["outbox"]
    )
    assert "ix_deliveries_status" in indexes["deliveries"]
    assert {"ix_node_events_received_at", "ix_node_events_node_id_type_received_at"} <= (
        indexes["node_events"]
    )
    with engine.connect() as conn:
        assert conn.execute(text("SELECT event_id FROM node_events")).scalars().all() == ["e1"]
    engine.dispose()


def finish_everywhere(commune: Commune, dispatcher: Dispatcher) -> str:
    """A bulletin played to its end on every point, as the nodes report it; its id."""
    play_id, nodes = play_everywhere(commune, dispatcher)
    command_of = {node_id: body.command_id for node_id, body in commune.commands()}
    said = []
    for node_id in nodes:
        said.append(CommandAck(node_id=node_id, command_id=command_of[node_id], accepted=True))
        for kind in ("received", "ready", "started", "finished"):
            said.append(PlayEvent(type=kind, node_id=node_id, play_id=play_id))  # type: ignore[arg-type]
    dispatcher.handle_batch([incoming(e.node_id, "events", e) for e in said])
    return play_id


def test_pruning_deletes_only_what_is_old_and_settled_and_the_reports_stay(
    commune: Commune, dispatcher: Dispatcher
) -> None:
    old_play = finish_everywhere(commune, dispatcher)
    long_ago = now() - timedelta(days=120)
    with commune.db.session() as s:  # that bulletin, its commands and events, 120 days back
        s.execute(update(OutboxCommand).values(expires_at=long_ago))
        s.execute(update(NodeEvent).values(received_at=long_ago))
    recent_play = finish_everywhere(commune, dispatcher)
    with commune.db.session() as s:
        node_id = s.scalars(select(Delivery.node_id)).first()
        assert node_id is not None
        # a command never answered, whose expiry no pass has marked yet: not settled
        volume = SetVolumeCommand(volume=40)
        stale = outbox.queue_command(
            s, commune.key, volume, node_id, play_id=None, expires_at=long_ago
        )

    def reports() -> tuple[object, ...]:
        with commune.db.session() as s:
            at = now()
            return (
                bulletin_report(s, s.get_one(Bulletin, old_play)),
                bulletin_report(s, s.get_one(Bulletin, recent_play)),
                monthly_report(s, month_of(long_ago), at),
                monthly_report(s, month_of(at), at),
            )

    before = reports()
    config = commune.config.model_copy(update={"history_retention_days": 90})
    jobs._running = jobs.Running(config, commune.db, dispatcher)
    try:
        jobs.housekeeping()
    finally:
        jobs._running = None

    assert reports() == before
    with commune.db.session() as s:
        kept = s.scalars(select(OutboxCommand)).all()
        assert stale.command_id in {c.command_id for c in kept}
        assert all(c.play_id == recent_play or c.command_id == stale.command_id for c in kept)
        assert {c.result for c in kept if c.play_id == recent_play} == {"acked"}
        events = s.scalars(select(NodeEvent)).all()
        assert events
        assert all(e.payload.get("play_id") == recent_play or e.type == "ack" for e in events)
        assert all(e.received_at > now() - timedelta(days=1) for e in events)


def test_pruning_goes_in_parts_until_nothing_old_is_left(
    commune: Commune, dispatcher: Dispatcher
) -> None:
    finish_everywhere(commune, dispatcher)
    with commune.db.session() as s:
        s.execute(update(OutboxCommand).values(expires_at=now() - timedelta(days=2)))
        s.execute(update(NodeEvent).values(received_at=now() - timedelta(days=2)))
        commands = len(s.scalars(select(OutboxCommand)).all())
        events = len(s.scalars(select(NodeEvent)).all())

    pruned = history.prune(commune.db, timedelta(days=1), part_rows=2)

    assert pruned == history.Pruned(commands=commands, events=events)
    with commune.db.session() as s:
        assert s.scalars(select(OutboxCommand)).all() == []
        assert s.scalars(select(NodeEvent)).all() == []
