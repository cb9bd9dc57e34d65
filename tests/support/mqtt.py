"""MQTT clients for tests: an observer account that sees every topic, and a client that
records what reaches it, both on the project's own broker.

The broker binds each client id to its account (``use_username_as_clientid``), so a test
that listens or publishes beside a running controller must not borrow the controller's
account: that would take over the controller's session. It uses the observer's instead.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from controller.nodes import broker
from protocol import mqtt_client
from protocol.topics import controller_acl
from tests.support import wait_for

OBSERVER = "observer"


def add_observer(broker_dir: Path) -> tuple[str, str]:
    """Give the broker in ``broker_dir`` an account with the controller's rights; call it
    before the broker starts (or reload it). Returns (user, password)."""
    files = broker.BrokerFiles(broker_dir)
    password = broker.new_password()
    broker.set_password(files, OBSERVER, password)
    block = "\n".join(["", f"user {OBSERVER}", *controller_acl()]) + "\n"
    with files.acl_file.open("a") as fh:
        fh.write(block)
    return OBSERVER, password


@contextmanager
def project_broker(
    root: Path, password: str, controller: str, nodes: Sequence[str], *more_controllers: str
) -> Iterator[tuple[int, Path]]:
    """A real Mosquitto with the project's config under ``root``: the controller's account,
    the nodes' and more with the controller's rights, all with ``password``. Yields its port
    and its log file."""
    files = broker.BrokerFiles(root)
    broker.add_controller(files, controller, password)
    for user in (*more_controllers, *nodes):
        broker.set_password(files, user, password)
    broker.write_acl(files, controller, list(nodes))
    with files.acl_file.open("a") as fh:
        for user in more_controllers:
            fh.write("\n".join(["", f"user {user}", *controller_acl()]) + "\n")
    port = broker.free_port()
    proc = broker.start_broker(files, port)
    try:
        yield port, files.log_file
    finally:
        broker.stop_broker(proc)


class Recorder:
    """One connected client that records (topic, payload, expiry) of what reaches it and
    counts its connections and disconnections."""

    def __init__(
        self, port: int, user: str, password: str, *, client_id: str = "", subscribe: str = ""
    ) -> None:
        self.got: list[tuple[str, bytes, int | None]] = []
        self.connects: list[int] = []
        self.disconnects = 0
        self._subscribed = threading.Event()
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(user, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: self._subscribed.set()
        self._filter = subscribe
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_for(lambda: self.connects, 5, f"{user}'s CONNACK")
        if subscribe:
            assert self._subscribed.wait(5), "the subscription was not acknowledged"

    def _on_connect(self, c: mqtt.Client, _u: object, _f: object, rc: Any, _p: object) -> None:
        self.connects.append(rc.value)
        if self._filter and not rc.is_failure:
            c.subscribe(self._filter, qos=1)

    def _on_disconnect(self, *_a: object) -> None:
        self.disconnects += 1

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        expiry = getattr(msg.properties, "MessageExpiryInterval", None)
        with self._lock:
            self.got.append((msg.topic, bytes(msg.payload), expiry))

    def on(self, topic: str) -> list[bytes]:
        with self._lock:
            return [payload for t, payload, _e in self.got if t == topic]

    def topics(self) -> list[str]:
        """The topic of every message received so far, in order."""
        with self._lock:
            return [t for t, _p, _e in self.got]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def drain(links: queue.Queue[mqtt_client.Link], quiet_s: float) -> list[mqtt_client.Link]:
    """What a client reports until it has been quiet for ``quiet_s``."""
    got: list[mqtt_client.Link] = []
    while True:
        try:
            got.append(links.get(timeout=quiet_s))
        except queue.Empty:
            return got
