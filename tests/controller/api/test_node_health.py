"""The node list of the API carries each point's last health report and its warnings."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from controller.db import Database
from controller.models import Node
from controller.nodes import bootstrap
from controller.nodes import health as node_health
from node_agent.version import installed_version
from protocol.messages import Health


def test_health_and_warnings_are_in_the_node_list(api):
    client, root = api
    db = Database(bootstrap.load_config(root).db_url)
    with db.session() as s:
        first = s.scalars(select(Node.id).order_by(Node.id)).first()
        assert first is not None
        s.get(Node, first).agent_version = installed_version()  # type: ignore[union-attr]
        node_health.record(
            s,
            first,
            Health(cpu_temp_c=86.0, clock_synced=True, clock_offset_ms=2.0, disk_free_bytes=10),
            datetime(2026, 12, 6, 1, 0, tzinfo=UTC),
        )
    db.engine.dispose()
    nodes = {n["id"]: n for n in client.get("/api/v1/nodes").json()}
    reported = nodes[first]
    assert reported["health"]["cpu_temp_c"] == 86.0
    assert reported["health"]["reported_at"] == "2026-12-06T08:00:00+07:00"
    assert reported["warnings"] == ["hot", "disk"]
    others = [n for n in nodes.values() if n["id"] != first]
    assert all(n["health"] is None for n in others)
