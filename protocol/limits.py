"""The broker's limits are the protocol's: what one message may weigh on the wire.

Mosquitto disconnects a client that sends a packet over ``max_packet_size``, and paho re-sends
the same packet on every reconnect, so one oversized message cuts its sender off for good. The
broker's config is rendered from ``MAX_PACKET_BYTES`` (controller/nodes/broker.py), and every
size the protocol allows is derived from it here.
"""

from __future__ import annotations

from typing import Final

MAX_PACKET_BYTES: Final = 262_144  # Mosquitto's max_packet_size: a whole MQTT packet
# What a Chunk adds around its base64 data: the JSON keys, two sha256s, offsets of up to 20
# digits, and the PUBLISH header with the longest node topic and an expiry. About 400 bytes
# at most; the rest is margin for a field added later.
CHUNK_FRAMING_BYTES: Final = 4096
# The largest raw piece of audio whose Chunk reply still fits one packet (base64: 3 → 4 bytes).
MAX_CHUNK_BYTES: Final = (MAX_PACKET_BYTES - CHUNK_FRAMING_BYTES) // 4 * 3
# The node's default request size: well under the limit, small enough for a 4G link's hiccups.
DEFAULT_CHUNK_BYTES: Final = 64 * 1024

_EXPIRY_PROPERTY_BYTES: Final = 5  # Message Expiry Interval: identifier + four-byte integer


def publish_packet_bytes(topic: str, payload: bytes, *, qos: int, expiry: bool) -> int:
    """Size of the MQTT 5 PUBLISH packet that carries ``payload`` on ``topic``: what the
    broker compares with its ``max_packet_size``."""
    properties = _EXPIRY_PROPERTY_BYTES if expiry else 0
    remaining = (
        2
        + len(topic.encode())
        + (2 if qos > 0 else 0)  # packet identifier
        + _varint_bytes(properties)
        + properties
        + len(payload)
    )
    return 1 + _varint_bytes(remaining) + remaining


def fits_packet(topic: str, payload: bytes, *, qos: int, expiry: bool) -> bool:
    return publish_packet_bytes(topic, payload, qos=qos, expiry=expiry) <= MAX_PACKET_BYTES


def _varint_bytes(value: int) -> int:
    """Bytes of MQTT's variable byte integer for ``value`` (7 bits per byte)."""
    count = 1
    while value >= 128:
        value >>= 7
        count += 1
    return count
