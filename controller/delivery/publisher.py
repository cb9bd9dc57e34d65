"""How delivery reaches the broker: a ``Publisher`` with the real MQTT one and one in memory.

Every message goes out at QoS 1 (the outbox re-sends what a node never acknowledged, so QoS 2
would buy nothing); a time-bound one carries an expiry, so the broker drops it once stale
instead of handing it to a node that comes back days later.

A publisher says whether it took the message. It refuses one over the broker's packet limit
(the broker would disconnect the controller for it, and paho would re-send it on every
reconnect: one such message stops delivery to every point) and, for MQTT, one that paho's
queue has no room for. The caller keeps what was refused and tries again later.

A payload may be bytes: paho keeps a ``str`` as a new encoded copy per publish until the broker
acknowledges it, and bytes as they are. A piece of audio published again and again while a
thousand points fetch it is then one object however many publishes of it wait in paho's queue
(``delivery.chunks``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

import paho.mqtt.client as mqtt

from protocol import mqtt_client
from protocol.limits import MAX_PACKET_BYTES, fits_packet, publish_packet_bytes

log = logging.getLogger(__name__)
QOS = 1


Payload = str | bytes  # JSON


@dataclass(frozen=True)
class Published:
    """One message as it left the controller (and, on a real broker, as it arrived)."""

    topic: str
    payload: Payload
    qos: int
    expiry_s: int | None


class Publisher(Protocol):
    def publish(self, topic: str, payload: Payload, *, expiry_s: int | None = None) -> bool:
        """Send ``payload`` on ``topic``; ``expiry_s`` lets the broker drop it unfetched.
        False when it was not taken (too large, or no room to queue it): nothing was sent."""


def fits(topic: str, payload: Payload, expiry_s: int | None) -> bool:
    """True when the broker will take the message; logs the refusal otherwise."""
    data = payload.encode() if isinstance(payload, str) else payload
    if fits_packet(topic, data, qos=QOS, expiry=expiry_s is not None):
        return True
    size = publish_packet_bytes(topic, data, qos=QOS, expiry=expiry_s is not None)
    log.error(
        "not publishing %d bytes on %s: over the broker's %d-byte packet limit",
        size,
        topic,
        MAX_PACKET_BYTES,
    )
    return False


class MqttPublisher:
    """Publishes through a paho client; paho queues what is sent while the link is down."""

    def __init__(self, client: mqtt.Client) -> None:
        self._client = client

    def publish(self, topic: str, payload: Payload, *, expiry_s: int | None = None) -> bool:
        if not fits(topic, payload, expiry_s):
            return False
        props = mqtt_client.expiring(expiry_s) if expiry_s is not None else None
        info = self._client.publish(topic, payload, qos=QOS, properties=props)
        # NO_CONN: queued by paho and sent on reconnect, which is taken too
        return info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN)


class MemoryPublisher:
    """Keeps what was published, in order, for tests and for a controller without a broker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the dispatcher's worker publishes, a test reads
        self._sent: list[Published] = []

    def publish(self, topic: str, payload: Payload, *, expiry_s: int | None = None) -> bool:
        if not fits(topic, payload, expiry_s):
            return False
        with self._lock:
            self._sent.append(Published(topic, payload, QOS, expiry_s))
        return True

    @property
    def sent(self) -> list[Published]:
        with self._lock:
            return list(self._sent)

    def clear(self) -> None:
        with self._lock:
            self._sent.clear()
