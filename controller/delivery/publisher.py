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

A publisher also says how many of the messages it took still await the broker's
acknowledgement (``unacknowledged``), and calls back once the broker acknowledges another
(``call_on_ack``): audio pieces are handed over only while that backlog is small, so they never
pile up in paho's queue ahead of commands, or behind copies of themselves (``delivery.chunks``).

An acknowledgement can fail to come (Mosquitto 2.0.11 loses them once the controller's queue at
the broker has overflowed): counted from the oldest, one such message held back every audio
piece for good. The client counts (``protocol.mqtt_client.Client``): for a message not
acknowledged within its wait (``ACK_LOST_S`` at first) the connection is made again, so that paho
sends it again and the broker acknowledges it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
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

    def unacknowledged(self) -> int:
        """Messages taken and not yet acknowledged by the broker, an upper bound (one whose
        acknowledgement has not come in ``mqtt_client.ACK_LOST_S`` is sent again on a new
        connection)."""

    def call_on_ack(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, from any thread, when the broker acknowledges a message
        (or at once, where nothing waits for an acknowledgement)."""


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

    def __init__(self, client: mqtt_client.Client) -> None:
        self._client = client
        self._on_ack: Callable[[], None] | None = None
        self._on_ack_lock = threading.Lock()  # set by the worker, taken by paho's thread
        client.on_publish = self._acknowledged

    def publish(self, topic: str, payload: Payload, *, expiry_s: int | None = None) -> bool:
        if not fits(topic, payload, expiry_s):
            return False
        props = mqtt_client.expiring(expiry_s) if expiry_s is not None else None
        info = self._client.publish(topic, payload, qos=QOS, properties=props)
        # NO_CONN: queued by paho and sent on reconnect, which is taken too
        return info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN)

    def unacknowledged(self) -> int:
        return self._client.unacknowledged()

    def call_on_ack(self, callback: Callable[[], None]) -> None:
        with self._on_ack_lock:
            self._on_ack = callback

    def _acknowledged(self, *_: object) -> None:
        # paho's thread, before it marks the message published: the callback only wakes a
        # worker, which counts again when it runs
        with self._on_ack_lock:
            callback, self._on_ack = self._on_ack, None
        if callback is not None:
            callback()


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

    def unacknowledged(self) -> int:
        return 0  # kept is acknowledged

    def call_on_ack(self, callback: Callable[[], None]) -> None:
        callback()

    @property
    def sent(self) -> list[Published]:
        with self._lock:
            return list(self._sent)

    def clear(self) -> None:
        with self._lock:
            self._sent.clear()
