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

# --- queues: how many messages the broker holds for one session ---------------------------------
# Mosquitto 2.0 applies these to every client alike (rendered into mosquitto.conf). A node is
# sent little at a time (signed commands once while it is offline, acks, a window of chunks), so
# 200 bounds what waits for an offline node; beyond the limits a QoS 1 message is dropped
# silently ("Outgoing messages are being dropped").
# ``max_inflight_messages`` is also the Receive Maximum Mosquitto announces in its CONNACK: the
# QoS 1 messages a client may have sent and not yet seen acknowledged. Every client keeps that
# many in flight (``mqtt_client.make_client``; paho's own default is 20, and paho never reads
# the CONNACK's figure). The controller's commands go out in windows of this size, each waiting
# for the broker's PUBACKs: 20 made an emergency to 1,000 points 50 round trips through a busy
# broker and paho's network thread, about 3 s on this machine (BENCHMARKS.md, "Scale"); 100
# makes it 10. It also bounds what one client that stops reading can pin in the broker:
# (100 + 200) messages, at most one packet each (a stolen node subscribed to every shared chunk).
BROKER_MAX_INFLIGHT_MESSAGES: Final = 100
BROKER_MAX_QUEUED_MESSAGES: Final = 200
# The controller's reading session reads what every node sends (and sends nothing: the
# controller sends on a session of its own, controller/delivery/dispatcher.py). It announces
# MQTT 5's largest Receive Maximum in its CONNECT, which Mosquitto 2.0 takes as that client's
# in-flight window (property__process_connect overrides max_inflight_messages for it): the
# broker sends up to this many unacknowledged messages before it queues, and only the queue's
# 200 beyond it drop.
CONTROLLER_RECEIVE_MAXIMUM: Final = 65_535
# Bytes, beside the counts above, because a client chooses its own window: any client may
# announce 65,535, and a node's account that did so, subscribed at QoS 1 to every shared chunk
# and never reading, made the broker hold every piece sent (65,735 packets, 16 GB, before the
# first drop). Mosquitto stops sending to a client once ``max_inflight_bytes`` of QoS 1 payload
# wait for its PUBACKs, and queues only ``max_queued_bytes`` beyond that (both apply with the
# counts: what comes first). The window's bytes are sized for the controller's reading session:
# its 65,535 messages of what nodes ordinarily send (a state, an event, a chunk request; each
# under ``NODE_MESSAGE_BYTES``, tests/protocol/test_limits.py); the queue's bytes are its 200
# packets. So what one client can pin is 64 MiB + 50 MiB whatever window it announces.
NODE_MESSAGE_BYTES: Final = 1024
BROKER_MAX_INFLIGHT_BYTES: Final = CONTROLLER_RECEIVE_MAXIMUM * NODE_MESSAGE_BYTES
BROKER_MAX_QUEUED_BYTES: Final = BROKER_MAX_QUEUED_MESSAGES * MAX_PACKET_BYTES
# What one well-behaved node has outstanding towards the controller at once while it takes a
# delivery: its window of chunk requests, its retained state, and the events of a few plays in
# a row (received, downloaded, started, finished, each re-sent until acknowledged) plus a
# reconnect's backlog. A node past this is a flood, which the controller's per-node rate limit
# drops after reading; it can delay the others but not make the broker drop theirs until the
# window below is full.
# What the controller's paho client holds unacknowledged before it refuses a publish (the
# outbox then leaves the command due for the next pass, seconds later): an emergency to every
# point of a province (10,000 commands) plus the acknowledgements of their events.
CONTROLLER_MAX_QUEUED: Final = 20_000
FETCH_WINDOW: Final = 4  # chunk requests a node keeps in flight (node_agent.fetcher)
NODE_BURST_MESSAGES: Final = 48
# The points one controller session is sized for: every node's burst at the same moment fits
# the window plus the queue. (65,535 + 200) // 48 = 1,369 points; a province beyond that
# spreads its points over more than one controller session or broker (BENCHMARKS.md).
SIZED_FOR_POINTS: Final = 1_000


def points_one_session_holds() -> int:
    """How many nodes may burst at once before the broker drops on the controller's session."""
    return (CONTROLLER_RECEIVE_MAXIMUM + BROKER_MAX_QUEUED_MESSAGES) // NODE_BURST_MESSAGES


# --- several events in one message (protocol/event_batch.py) ------------------------------------
# What a node's batch of events may weigh: one packet, less its PUBLISH header and topic (the
# longest node topic is under 100 bytes) with room to spare. A batch that would pass it is split.
EVENT_BATCH_FRAMING_BYTES: Final = 1024
MAX_EVENT_BATCH_BYTES: Final = MAX_PACKET_BYTES - EVENT_BATCH_FRAMING_BYTES
# Events in one batch. The packet bounds the bytes, not the count: the smallest event is about
# 130 bytes, so a packet could carry 2,000 of them, each a row and a lookup for the controller's
# one worker. The controller's per-node rate limit counts each event, and a batch must fit in
# what one node may have outstanding at once (NODE_BURST_MESSAGES, checked in the tests), so a
# well-behaved node's batch is never cut by the limit. A point has 2-4 events at one moment
# (an ack, received, ready; started and a state's worth), and a re-send pages 100 at a time.
MAX_BATCH_EVENTS: Final = 32


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
