"""Helpers shared by tests; this module holds those that run the whole system as processes.

The others sit beside it by subject (audio, cap, programme, web, keys, postgres).
"""

from __future__ import annotations

import functools
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from controller.db import Database, migrate
from controller.nodes import broker
from controller.ops import demo
from controller.ops.cluster import Cluster

T = TypeVar("T")
Row = TypeVar("Row")

FAST_NODE = {"chunk_timeout_s": 2.0, "outbox_resend_s": 2.0}
FAST_CONTROLLER = {"resend_interval_s": 1.0, "expiry_grace_s": 2.0}


@dataclass
class SystemUnderTest:
    cluster: Cluster
    token: str
    # A broker account with the controller's rights, for tests that publish or listen beside
    # the running controller: borrowing the controller's own would take its session over.
    observer: tuple[str, str]

    @property
    def node_ids(self) -> list[str]:
        return list(self.cluster.node_configs)

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.cluster.url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
            verify=self.cluster.tls_context() or True,
        )

    def node_config(self, node_id: str) -> dict[str, Any]:
        return dict(json.loads(self.cluster.node_configs[node_id].read_text()))

    def set_node_config(self, node_id: str, **changes: object) -> None:
        data = self.node_config(node_id)
        data.update(changes)
        self.cluster.node_configs[node_id].write_text(json.dumps(data, indent=2))

    def played_dir(self, node_id: str) -> Path:
        return Path(self.node_config(node_id)["data_dir"]) / "played"

    def post_bulletin(self, audio: Path, **form: Any) -> httpx.Response:
        with self.http() as c, audio.open("rb") as fh:
            return c.post("/api/v1/bulletins", files={"file": (audio.name, fh)}, data=form)

    def report(self, bulletin_id: str) -> dict[str, Any]:
        with self.http() as c:
            r = c.get(f"/api/v1/bulletins/{bulletin_id}/report")
            r.raise_for_status()
            return dict(r.json())


def held(sut: SystemUnderTest, audio: Path, title: str) -> dict[str, Any]:
    """A bulletin stored for the programme: sent to no point yet."""
    resp = sut.post_bulletin(audio, title=title, hold="true")
    assert resp.status_code == 201, resp.text
    assert resp.json()["targets"] == 0
    return dict(resp.json())


def all_online(sut: SystemUnderTest) -> bool:
    """Every point the controller knows is online (and it knows some)."""
    with sut.http() as c:
        nodes = c.get("/api/v1/nodes").json()
    return bool(nodes) and all(n["status"] == "online" for n in nodes)


def db_of(sut: SystemUnderTest) -> Database:
    """The controller's database; the caller disposes of its engine."""
    return Database(sut.cluster.config.db_url)


def stored_row(db_url: str, model: type[Row], key: object) -> Row | None:
    """One row as the database has it now, detached (None when there is none)."""
    db = Database(db_url)
    with db.session() as s:
        row = s.get(model, key)
        if row is not None:
            s.expunge(row)
    db.engine.dispose()
    return row


@functools.cache
def _migrated_schema() -> bytes:
    """An empty SQLite database at the newest schema, as one file's bytes. Alembic walking every
    revision costs about a second of CPU per system; each test's system starts from a copy of
    this instead, and the set-up's own migrate finds it at head. Migrating an empty database is
    still tested where it is the subject: `loa init`, the migration tests, ``make_commune``."""
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{Path(tmp) / 'schema.sqlite3'}")
        migrate(database.engine)
        database.engine.dispose()
        copy = sqlite3.connect(":memory:")
        with sqlite3.connect(Path(tmp) / "schema.sqlite3") as source:
            source.backup(copy)  # whole, whatever is still in the WAL
        data = copy.serialize()
        copy.close()
        return data


def make_system(root: Path, *, nodes: int, **controller: object) -> SystemUnderTest:
    """A system whose nodes reach the broker through its TLS listener, as in the field."""
    tls_port = controller.pop("mqtt_tls_port", None)
    if controller.get("database_url") is None and not (root / "loalang.sqlite3").exists():
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        (root / "loalang.sqlite3").write_bytes(_migrated_schema())
    cluster = demo.prepare(
        root,
        nodes=nodes,
        http_port=broker.free_port(),
        mqtt_port=broker.free_port(),
        # the nodes are provisioned for the broker's TLS listener from the start, and the web
        # app's certificate is in the config before anything reads it
        mqtt_tls_port=tls_port if isinstance(tls_port, int) else broker.free_port(),
        mqtt_tls_hosts=controller.pop("mqtt_tls_hosts", ["localhost"]),
        database_url=controller.pop("database_url", None),
        **{
            key: controller.pop(key)
            for key in list(controller)
            if key.startswith(("mqtt_tls_", "http_tls_"))
        },
    )
    settings = {**FAST_CONTROLLER, **controller}
    path = cluster.config.data_dir / "controller.json"
    data = json.loads(path.read_text())
    data.update(settings)
    path.write_text(json.dumps(data, indent=2))
    cluster.config = cluster.config.model_copy(update=settings)
    for cfg in cluster.node_configs.values():
        node = json.loads(cfg.read_text())
        node.update(FAST_NODE)
        cfg.write_text(json.dumps(node, indent=2))
    token = demo.credentials(cluster.config)["api_token"]
    from tests.support.mqtt import add_observer  # it imports this module's wait_for

    return SystemUnderTest(cluster, token, add_observer(cluster.config.broker_dir))


def post_alert(sut: SystemUnderTest, audio: Path, token: str | None = None, **form: object):
    """POST an alert with ``audio`` as its recording, as the demo admin or as ``token``."""
    with sut.http() as c, audio.open("rb") as fh:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return c.post(
            "/api/v1/alerts", files={"file": (audio.name, fh)}, data=form, headers=headers
        )


def wait_for(
    check: Callable[[], T | None], timeout: float, what: str, *, interval: float = 0.2
) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


def publish_as(
    sut: SystemUnderTest,
    username: str,
    password: str,
    topic: str,
    payload: bytes,
) -> int:
    """Publish one QoS 1 message with the given broker account; returns the PUBACK reason."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    result: dict[str, int] = {}
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"test-{time.monotonic_ns()}", protocol=mqtt.MQTTv5
    )
    client.username_pw_set(username, password)

    def on_publish(_c: object, _u: object, _m: int, rc: Any, _p: object) -> None:
        result.setdefault("rc", rc.value)

    client.on_publish = on_publish
    client.connect("127.0.0.1", sut.cluster.config.mqtt_port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1).wait_for_publish(5)
        wait_for(lambda: "rc" in result, 5, "PUBACK")
    finally:
        client.disconnect()
        client.loop_stop()
    return result["rc"]


def controller_rows(sut: SystemUnderTest, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Rows of the controller's real SQLite file."""
    import sqlite3

    db = sqlite3.connect(sut.cluster.config.data_dir / "loalang.sqlite3")
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def node_events(sut: SystemUnderTest, node_id: str, kind: str) -> list[dict[str, Any]]:
    """Events the controller stored for ``node_id``."""
    rows = controller_rows(
        sut, "SELECT payload FROM node_events WHERE node_id=? AND type=?", node_id, kind
    )
    return [json.loads(r[0]) for r in rows]
