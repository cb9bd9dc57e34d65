"""How delivery reaches the broker: a ``Publisher`` with the real MQTT one and one in memory.

Every message goes out at QoS 1 (the outbox re-sends what a node never acknowledged, so QoS 2
would buy nothing); a time-bound one carries an expiry, so the broker drops it once stale
instead of handing it to a node that comes back days later.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

import paho.mqtt.client as mqtt

from protocol import mqtt_client

QOS = 1


@dataclass(frozen=True)
class Published:
    """One message as it left the controller (and, on a real broker, as it arrived)."""

    topic: str
    payload: str
    qos: int
    expiry_s: int | None


class Publisher(Protocol):
    def publish(self, topic: str, payload: str, *, expiry_s: int | None = None) -> None:
        """Send ``payload`` on ``topic``; ``expiry_s`` lets the broker drop it unfetched."""


class MqttPublisher:
    """Publishes through a paho client; paho queues what is sent while the link is down."""

    def __init__(self, client: mqtt.Client) -> None:
        self._client = client

    def publish(self, topic: str, payload: str, *, expiry_s: int | None = None) -> None:
        props = mqtt_client.expiring(expiry_s) if expiry_s is not None else None
        self._client.publish(topic, payload, qos=QOS, properties=props)


class MemoryPublisher:
    """Keeps what was published, in order, for tests and for a controller without a broker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the dispatcher's worker publishes, a test reads
        self._sent: list[Published] = []

    def publish(self, topic: str, payload: str, *, expiry_s: int | None = None) -> None:
        with self._lock:
            self._sent.append(Published(topic, payload, QOS, expiry_s))

    @property
    def sent(self) -> list[Published]:
        with self._lock:
            return list(self._sent)

    def clear(self) -> None:
        with self._lock:
            self._sent.clear()
