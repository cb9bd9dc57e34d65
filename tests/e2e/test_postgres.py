"""The same delivery with PostgreSQL behind the controller instead of SQLite."""

from __future__ import annotations

from sqlalchemy import create_engine, text

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
