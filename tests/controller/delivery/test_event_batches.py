"""Batches of a node's events (protocol/event_batch.py) at the controller: each event stored once
and in order, one acknowledgement back, single events still taken, every entry checked on its
own, the node's rate counted in events. The dispatcher on a real SQLite commune with the
in-memory publisher, handed messages as paho would; no broker."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import func, select

from controller.delivery.dispatcher import Dispatcher
from controller.delivery.node_limits import NodeRateLimit
from controller.delivery.publisher import MemoryPublisher
from controller.models import NodeEvent, OutboxCommand
from protocol import event_batch
from protocol.limits import MAX_BATCH_EVENTS
from protocol.messages import (
    EVENT_BATCHES,
    CommandAck,
    EventAck,
    Message,
    NodeState,
    PlayEvent,
    RejectedPayload,
)
from protocol.mqtt_client import Incoming
from protocol.topics import node_topic
from tests.controller.commune import Commune
from tests.controller.delivery.test_dispatcher import acks, deliver, play, status


def send(dispatcher: Dispatcher, node_id: str, payload: bytes) -> None:
    topic = node_topic(node_id, "events")
    dispatcher.handle(Incoming(topic, payload, False, time.time()))


def batch(*entries: object) -> bytes:
    """A batch as a node packs it, with any entry (a hostile one too) as given."""
    raw = [
        e.model_dump_json().encode() if isinstance(e, Message) else json.dumps(e).encode()
        for e in entries
    ]
    return b'{"v":1,"type":"events","events":[' + b",".join(raw) + b"]}"


def ack_messages(publisher: MemoryPublisher, node_id: str) -> list[dict[str, Any]]:
    topic = node_topic(node_id, "ack")
    sent = [json.loads(p.payload) for p in publisher.sent if p.topic == topic]
    return [m for m in sent if m["type"] == "event_ack"]  # not the signed state answers


def stored(dispatcher: Dispatcher, node_id: str) -> int:
    with dispatcher.db.session() as s:
        query = select(func.count()).select_from(NodeEvent).where(NodeEvent.node_id == node_id)
        return s.scalar(query) or 0


def a_play(commune: Commune, dispatcher: Dispatcher) -> tuple[str, str, str]:
    """A bulletin queued to one node: (node, its command id, the play id)."""
    node_id = play(commune, dispatcher)
    [(_, body)] = commune.commands()
    assert body.command.type == "play"
    return node_id, body.command_id, body.command.play_id


def test_a_batch_is_stored_once_each_in_order_and_acknowledged_in_one_message(
    commune, publisher, dispatcher
):
    node_id, command_id, play_id = a_play(commune, dispatcher)
    said = [
        CommandAck(node_id=node_id, command_id=command_id, accepted=True),
        PlayEvent(type="received", node_id=node_id, play_id=play_id),
        PlayEvent(type="ready", node_id=node_id, play_id=play_id),
    ]
    send(dispatcher, node_id, batch(*said))

    assert [m["event_ids"] for m in ack_messages(publisher, node_id)] == [
        [e.event_id for e in said]
    ]
    assert stored(dispatcher, node_id) == 3
    assert status(commune, node_id)[0] == "ready"
    with commune.db.session() as s:
        assert s.get_one(OutboxCommand, (command_id, node_id)).result == "acked"

    send(dispatcher, node_id, batch(*said))  # re-sent: the ack was lost
    assert stored(dispatcher, node_id) == 3
    assert acks(publisher, node_id) == [e.event_id for e in said] * 2


def test_single_events_and_batches_mix(commune, publisher, dispatcher):
    """An agent from before batches, or a new one before its controller said so, sends single
    events; they are taken as ever, between batches, in the order they came."""
    node_id, command_id, play_id = a_play(commune, dispatcher)
    ack = CommandAck(node_id=node_id, command_id=command_id, accepted=True)
    deliver(dispatcher, node_id, "events", ack)
    received, ready = (
        PlayEvent(type=k, node_id=node_id, play_id=play_id) for k in ("received", "ready")
    )
    send(dispatcher, node_id, batch(received, ready))
    started = PlayEvent(type="started", node_id=node_id, play_id=play_id)
    deliver(dispatcher, node_id, "events", started)
    finished = PlayEvent(type="finished", node_id=node_id, play_id=play_id)
    send(dispatcher, node_id, batch(finished))  # a batch of one is a batch too

    assert [m["event_ids"] for m in ack_messages(publisher, node_id)] == [
        [ack.event_id],
        [received.event_id, ready.event_id],
        [started.event_id],
        [finished.event_id],
    ]
    assert status(commune, node_id)[0] == "finished"
    assert stored(dispatcher, node_id) == 5


def test_a_bad_entry_costs_only_itself(commune, publisher, dispatcher, caplog):
    node_id, command_id, play_id = a_play(commune, dispatcher)
    other = commune.nodes_in("thon-bac")[0]
    good = [
        CommandAck(node_id=node_id, command_id=command_id, accepted=True),
        PlayEvent(type="received", node_id=node_id, play_id=play_id),
    ]
    nested = json.loads(batch(good[1]).decode())  # a batch inside the batch
    hostile: list[object] = [
        good[0],
        {"type": "started", "node_id": node_id},  # no play id
        nested,
        [1, [2, [3]]],
        "ạ" * 1000,
        {
            "type": "received",
            "node_id": node_id,
            "play_id": play_id,
            "at": "9999-12-31T23:59:59-23:59",
        },
        PlayEvent(type="started", node_id=other, play_id=play_id),  # speaks for another node
        good[1],
    ]
    send(dispatcher, node_id, batch(*hostile))

    assert acks(publisher, node_id) == [e.event_id for e in good]
    assert stored(dispatcher, node_id) == 2
    assert stored(dispatcher, other) == 0
    assert status(commune, node_id)[0] == "received"
    bad = [r.getMessage() for r in caplog.records if "of a batch from" in r.getMessage()]
    assert len(bad) == 5  # each refusal said, as a single bad event is


def test_duplicate_ids_in_a_batch_are_stored_once(commune, publisher, dispatcher):
    node_id = commune.nodes_in("thon-dong")[0]
    twice = RejectedPayload(node_id=node_id, topic="loa/v1/x", reason="junk")
    send(dispatcher, node_id, batch(twice, twice, twice))
    assert stored(dispatcher, node_id) == 1
    assert acks(publisher, node_id) == [twice.event_id]


def test_a_batch_over_the_count_is_refused_whole(commune, publisher, dispatcher, caplog):
    node_id = commune.nodes_in("thon-dong")[0]
    many = [
        RejectedPayload(node_id=node_id, topic="t", reason=str(k))
        for k in range(MAX_BATCH_EVENTS + 1)
    ]
    send(dispatcher, node_id, batch(*many))
    assert stored(dispatcher, node_id) == 0
    assert acks(publisher, node_id) == []
    assert any("bad events from" in r.getMessage() for r in caplog.records)
    # what a node packs never passes it
    [first, second] = event_batch.pack([e.model_dump_json().encode() for e in many])
    send(dispatcher, node_id, first)
    send(dispatcher, node_id, second)
    assert stored(dispatcher, node_id) == MAX_BATCH_EVENTS + 1


def test_the_rate_limit_counts_the_events_of_a_batch(commune, publisher, dispatcher):
    node_id = commune.nodes_in("thon-dong")[0]
    dispatcher.limits = NodeRateLimit(rate_per_s=1, burst=5, clock=lambda: 0.0)
    sent = [RejectedPayload(node_id=node_id, topic="t", reason=str(k)) for k in range(8)]
    send(dispatcher, node_id, batch(*sent))

    assert acks(publisher, node_id) == [e.event_id for e in sent[:5]]  # the rest: re-sent
    assert dispatcher.limits.dropped == {node_id: 3}
    send(dispatcher, node_id, batch(*sent[5:]))  # the bucket is empty: dropped unread,
    assert stored(dispatcher, node_id) == 5
    assert dispatcher.limits.dropped == {node_id: 4}  # one message, as a flood costs nothing


def test_acks_say_batches_only_to_a_node_that_named_them(commune, publisher, dispatcher):
    new, old = commune.nodes_in("thon-dong")[:2]
    for node_id, capabilities in ((new, [EVENT_BATCHES]), (old, [])):
        state = NodeState(node_id=node_id, status="online", capabilities=capabilities)
        deliver(dispatcher, node_id, "state", state)
        deliver(
            dispatcher, node_id, "events", RejectedPayload(node_id=node_id, topic="t", reason="r")
        )

    [to_new] = ack_messages(publisher, new)
    [to_old] = ack_messages(publisher, old)
    assert to_new["batches"] is True
    assert "batches" not in to_old  # its agent refuses a field it does not know
    EventAck.model_validate(to_old)

    # the same node, rolled back to a release from before batches
    deliver(dispatcher, new, "state", NodeState(node_id=new, status="online"))
    deliver(dispatcher, new, "events", RejectedPayload(node_id=new, topic="t", reason="r"))
    assert "batches" not in ack_messages(publisher, new)[-1]
    # its Last Will names nothing and changes nothing
    deliver(
        dispatcher,
        old,
        "state",
        NodeState(node_id=old, status="online", capabilities=[EVENT_BATCHES]),
    )
    deliver(dispatcher, old, "state", NodeState(node_id=old, status="offline"))
    assert old in dispatcher.batching
