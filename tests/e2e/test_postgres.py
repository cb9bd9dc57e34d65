"""The same delivery with PostgreSQL behind the controller instead of SQLite; the history's
indexes and pruning there too."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import create_engine, inspect, select, text

from controller.db import Database, migrate
from controller.delivery import history, outbox
from controller.models import CommandEnvelope, Commune, Node, NodeEvent, OutboxCommand, Zone, now
from tests.controller.delivery.test_history import PREVIOUS_HEAD
from tests.support import wait_for


def test_delivery_and_report_work_on_postgresql(system_factory, speech_wav, postgres_url):
    sut = system_factory(nodes=2, database_url=postgres_url)
    sut.cluster.start_all()
    resp = sut.post_bulletin(speech_wav, all="true")
    assert resp.status_code == 201, resp.text
    bid = resp.json()["id"]
    report = wait_for(
        lambda: (r := sut.report(bid))["summary"]["completed"] == 2 and r, 60, "both nodes"
    )
    assert all(n["started_at"] for n in report["nodes"])
    # the rows really are in PostgreSQL, not in a stray SQLite file
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        statuses = (
            conn.execute(text("SELECT status FROM deliveries WHERE bulletin_id = :b"), {"b": bid})
            .scalars()
            .all()
        )
        assert statuses == ["finished", "finished"]
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert not (sut.cluster.config.data_dir / "loalang.sqlite3").exists()


def test_scan_indexes_migration_and_pruning_on_postgresql(postgres_url):
    """The migration from the previous head and the pruning's DELETE ... IN (SELECT ... LIMIT)
    on a real PostgreSQL, in a database of their own."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE loa_history"))
    db = Database(postgres_url.rsplit("/", 1)[0] + "/loa_history")
    try:
        migrate(db.engine, PREVIOUS_HEAD)
        migrate(db.engine)
        names = {ix["name"] for ix in inspect(db.engine).get_indexes("outbox")}
        assert {"ix_outbox_result_expires_at", "ix_outbox_node_id_result"} <= names
        long_ago = now() - timedelta(days=120)
        with db.session() as s:
            s.add(Commune(id=1, name="Xã"))
            s.add(Zone(id=1, commune_id=1, code="thon-1", name="Thôn 1"))
            s.add(Node(id="loa-1", name="Loa 1", zone_id=1))
            s.flush()
            for k, result in enumerate(("acked", "expired", "pending")):
                s.add(
                    OutboxCommand(
                        command_id=f"c{k}",
                        node_id="loa-1",
                        signed=CommandEnvelope(command_id=f"c{k}", envelope="{}"),
                        expires_at=long_ago,
                        result=result,
                    )
                )
            for k in range(3):
                s.add(
                    NodeEvent(
                        event_id=f"e{k}",
                        node_id="loa-1",
                        type="started",
                        at=long_ago,
                        payload={},
                        received_at=long_ago,
                    )
                )
        assert history.prune(db, timedelta(days=90), part_rows=2) == history.Pruned(2, 3)
        with db.session() as s:
            assert [c.command_id for c in s.scalars(outbox.pending(["loa-1"]))] == ["c2"]
            # the settled commands' envelopes went with them
            assert s.scalars(select(CommandEnvelope.command_id)).all() == ["c2"]
    finally:
        db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE loa_history"))
        admin.dispose()
