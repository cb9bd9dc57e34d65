"""The commune's own broker with its dispatcher running as in production (``live``), for the
tests of what crosses a real Mosquitto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from controller.delivery.dispatcher import Dispatcher
from controller.ops.cluster import Cluster
from tests.controller.commune import Commune
from tests.support.mqtt import Recorder, add_observer


@dataclass
class Live:
    commune: Commune
    dispatcher: Dispatcher
    port: int
    observer: tuple[str, str]
    cluster: Cluster

    def password(self, node_id: str) -> str:
        path = self.commune.config.nodes_dir / node_id / "node.json"
        return str(json.loads(path.read_text())["broker_password"])

    def as_node(self, node_id: str, *, client_id: str | None = None, listen: str = "") -> Recorder:
        """A client with ``node_id``'s account (and, unless told, its client id)."""
        cid = node_id if client_id is None else client_id
        return Recorder(self.port, node_id, self.password(node_id), client_id=cid, subscribe=listen)

    def controller_connections(self) -> int:
        """How many times the controller's account connected, from the broker's own log."""
        log = (self.commune.config.broker_dir / "mosquitto.log").read_text()
        return log.count(f"u'{self.commune.config.mqtt_user}'")


@pytest.fixture
def live(commune: Commune) -> Iterator[Live]:
    """The commune's broker and its dispatcher, started as the controller starts them."""
    cluster = Cluster(commune.config)
    observer = add_observer(commune.config.broker_dir)
    cluster.start_broker()
    dispatcher = Dispatcher(commune.config, commune.db, commune.key)
    dispatcher.start()
    try:
        assert dispatcher.connected.wait(10), "the dispatcher did not connect"
        assert dispatcher.reading.wait(10), "the dispatcher's reading session did not connect"
        yield Live(commune, dispatcher, commune.config.mqtt_port, observer, cluster)
    finally:
        dispatcher.stop()
        cluster.stop_broker()
