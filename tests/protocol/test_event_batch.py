"""How a node packs its events into messages: within the broker's packet and the batch count,
in order, an event alone as it always went; and how the controller unpacks them, each entry
on its own."""

from __future__ import annotations

import json

from pydantic import ValidationError

from protocol import event_batch, limits
from protocol.limits import MAX_BATCH_EVENTS, MAX_EVENT_BATCH_BYTES, fits_packet
from protocol.messages import (
    EVENTS_TOPIC_ADAPTER,
    CommandAck,
    EventAck,
    EventBatch,
    PlayEvent,
    RejectedPayload,
)
from protocol.topics import node_topic

LONGEST_TOPIC = node_topic("n" * 63, "events")


def event(k: int, reason: str = "") -> bytes:
    return (
        RejectedPayload(node_id="loa-1", topic="t", reason=reason or str(k))
        .model_dump_json()
        .encode()
    )


def carried(messages: list[bytes]) -> list[list[str]]:
    """The event ids each message carries."""
    out = []
    for m in messages:
        body = json.loads(m)
        out.append(
            [e["event_id"] for e in body["events"]]
            if body["type"] == "events"
            else [body["event_id"]]
        )
    return out


def test_a_batch_holds_at_most_the_count_and_keeps_the_order():
    payloads = [event(k) for k in range(2 * MAX_BATCH_EVENTS + 1)]
    messages = event_batch.pack(payloads)
    ids = [json.loads(p)["event_id"] for p in payloads]
    assert carried(messages) == [
        ids[:MAX_BATCH_EVENTS],
        ids[MAX_BATCH_EVENTS : 2 * MAX_BATCH_EVENTS],
        ids[-1:],
    ]
    assert json.loads(messages[-1])["type"] == "rejected"  # alone: as it always went
    for m in messages[:2]:
        assert isinstance(EVENTS_TOPIC_ADAPTER.validate_json(m), EventBatch)


def test_a_batch_is_split_before_it_passes_the_packet_limit():
    big = [event(k, "ạ" * 30_000) for k in range(12)]  # about 90 KB each
    messages = event_batch.pack(big)
    assert len(messages) > 1
    assert sum(len(c) for c in carried(messages)) == 12
    for m in messages:
        assert len(m) <= MAX_EVENT_BATCH_BYTES
        assert fits_packet(LONGEST_TOPIC, m, qos=1, expiry=True)


def test_a_batch_at_the_byte_limit_fits_and_one_byte_more_is_split():
    overhead = len(event_batch.pack([b"{}", b"{}"])[0]) - 5  # the wrapper, without "{},{}"
    half = (MAX_EVENT_BATCH_BYTES - overhead - 1) // 2
    a, b = b"a" * half, b"b" * (MAX_EVENT_BATCH_BYTES - overhead - 1 - half)
    [whole] = event_batch.pack([a, b])
    assert len(whole) == MAX_EVENT_BATCH_BYTES
    assert fits_packet(LONGEST_TOPIC, whole, qos=1, expiry=True)
    assert event_batch.pack([a, b + b"b"]) == [a, b + b"b"]


def test_the_limits_follow_the_broker():
    assert MAX_EVENT_BATCH_BYTES < limits.MAX_PACKET_BYTES
    # a full batch passes a node's rate at once and counts within what a node has outstanding
    assert MAX_BATCH_EVENTS <= limits.NODE_BURST_MESSAGES
    # the acknowledgement of a full batch of the longest ids fits a packet
    ack = EventAck(event_ids=["e" * 32] * MAX_BATCH_EVENTS, batches=True)
    assert fits_packet(
        node_topic("n" * 63, "ack"), ack.model_dump_json().encode(), qos=1, expiry=False
    )


def test_entries_are_checked_one_by_one():
    good = PlayEvent(type="ready", node_id="loa-1", play_id="p1")
    raw = [
        json.loads(CommandAck(node_id="loa-1", command_id="c", accepted=True).model_dump_json()),
        {"type": "events", "events": [json.loads(good.model_dump_json())]},  # nested
        None,
        json.loads(good.model_dump_json()),
    ]
    out = list(event_batch.entries(raw))
    assert [type(e).__name__ for e in out] == [
        "CommandAck",
        "ValidationError",
        "ValidationError",
        "PlayEvent",
    ]
    assert out[3] == good
    assert isinstance(out[1], ValidationError)


def test_an_empty_or_oversized_batch_is_refused():
    for count in (0, MAX_BATCH_EVENTS + 1):
        payload = json.dumps({"type": "events", "events": [{}] * count})
        try:
            EVENTS_TOPIC_ADAPTER.validate_json(payload)
        except ValidationError:
            continue
        raise AssertionError(f"a batch of {count} was taken")
