"""The dispatcher's three jobs on a real database, with an in-memory publisher: commands out,
events in, audio chunks served. No broker: tests hand it inbox items as paho would."""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.delivery import outbox
from controller.delivery.dispatcher import ACK_HOLD_S, STOP, WAKE, Dispatcher
from controller.delivery.publisher import MemoryPublisher
from controller.models import Bulletin, Delivery, Node, NodeEvent, OutboxCommand, now
from protocol.messages import (
    CONTENT_ADAPTER,
    Chunk,
    ChunkRequest,
    ChunkUnavailable,
    CommandAck,
    EventAck,
    Message,
    NodeState,
    PlayCommand,
    PlayEvent,
    SetVolumeCommand,
)
from protocol.mqtt_client import Incoming
from protocol.topics import node_topic, shared_content_topic
from tests.controller.commune import Commune
from tests.support import wait_for


def deliver(dispatcher: Dispatcher, node_id: str, channel: str, message: Message) -> None:
    """``message`` arriving from ``node_id`` as paho hands it over."""
    topic = node_topic(node_id, channel)  # type: ignore[arg-type]
    incoming = Incoming(topic, message.model_dump_json().encode(), False, time.time())
    dispatcher.handle(incoming)


def play(commune: Commune, dispatcher: Dispatcher) -> str:
    """One bulletin queued for the first node of thon-dong; returns that node."""
    node_id = commune.nodes_in("thon-dong")[0]
    bulletin = commune.bulletin()
    with commune.db.session() as s:
        dispatcher.queue_play(
            s, s.get_one(Bulletin, bulletin.id), [node_id], play_id=bulletin.id, play_at=None
        )
    return node_id


def status(commune: Commune, node_id: str) -> tuple[str, str]:
    with commune.db.session() as s:
        d = s.scalars(select(Delivery).where(Delivery.node_id == node_id)).one()
        return d.status, d.reason


def acks(publisher: MemoryPublisher, node_id: str) -> list[str]:
    topic = node_topic(node_id, "ack")
    return [
        eid
        for p in publisher.sent
        if p.topic == topic
        for eid in EventAck.model_validate_json(p.payload).event_ids
    ]


def set_volume(commune: Commune, s: Session, node_id: str, volume: int) -> None:
    command = SetVolumeCommand(volume=volume)
    expires_at = now() + timedelta(minutes=5)
    outbox.queue_command(s, commune.key, command, node_id, play_id=None, expires_at=expires_at)


def test_a_commit_that_queues_a_command_wakes_the_sender_once(commune):
    woken: list[int] = []
    stop = outbox.wake_on_commit(commune.db.sessions, lambda: woken.append(1))
    node_id = commune.nodes_in("thon-tay")[0]
    try:
        with commune.db.session() as s:
            set_volume(commune, s, node_id, 40)
        assert woken == [1]
        with commune.db.session() as s:  # reading, or changing other rows, is no reason
            s.scalars(select(OutboxCommand)).all()
            s.get_one(Node, node_id).volume = 30
        assert woken == [1]

        def queue_then_fail() -> None:
            with commune.db.session() as s:
                set_volume(commune, s, node_id, 50)
                s.flush()
                raise RuntimeError("the request failed after queueing")

        with pytest.raises(RuntimeError):
            queue_then_fail()
        with commune.db.session() as s:
            s.scalars(select(Node)).all()
        assert woken == [1], "a rolled-back command woke the sender"
    finally:
        stop()
    with commune.db.session() as s:
        set_volume(commune, s, node_id, 60)
    assert woken == [1], "still woken after being unhooked"


def test_a_running_dispatcher_sends_a_committed_command_at_once(commune, publisher, dispatcher):
    """No broker, so never connected: only the commit's wake can have sent it (the periodic
    pass sends only while connected)."""
    node_id = commune.nodes_in("thon-bac")[0]
    dispatcher.start()
    try:
        with commune.db.session() as s:
            body = dispatcher.queue_control(
                s, SetVolumeCommand(volume=70), node_id, timedelta(minutes=5)
            )
        sent = wait_for(
            lambda: [p for p in publisher.sent if p.topic == node_topic(node_id, "cmd")],
            3,
            "the command on the node's topic",
        )
    finally:
        dispatcher.stop()
    assert len(sent) == 1
    assert commune.verified(node_id, sent[0].payload).command_id == body.command_id
    assert sent[0].expiry_s is not None
    assert 290 <= sent[0].expiry_s <= 301


def test_played_stays_played_whatever_arrives_late(commune, publisher, dispatcher):
    node_id = play(commune, dispatcher)
    [(_, body)] = commune.commands()
    assert isinstance(body.command, PlayCommand)
    play_id = body.command.play_id
    assert status(commune, node_id) == ("queued", "")

    accepted = CommandAck(node_id=node_id, command_id=body.command_id, accepted=True)
    deliver(dispatcher, node_id, "events", accepted)
    assert status(commune, node_id) == ("acknowledged", "")
    started = PlayEvent(node_id=node_id, type="started", play_id=play_id)
    finished = PlayEvent(node_id=node_id, type="finished", play_id=play_id)
    for event in (started, finished):
        deliver(dispatcher, node_id, "events", event)
    assert status(commune, node_id) == ("finished", "")

    rejected = CommandAck(
        node_id=node_id, command_id=body.command_id, accepted=False, reason="expired"
    )
    failed = PlayEvent(node_id=node_id, type="failed", play_id=play_id, reason="amplifier")
    for late in (rejected, failed):
        deliver(dispatcher, node_id, "events", late)
    assert status(commune, node_id) == ("finished", "")
    assert acks(publisher, node_id) == [
        e.event_id for e in (accepted, started, finished, rejected, failed)
    ]


def test_a_node_word_that_it_played_beats_the_expiry(commune, dispatcher):
    node_id = play(commune, dispatcher)
    with commune.db.session() as s:
        delivery = s.scalars(select(Delivery)).one()
        delivery.valid_until = now() - timedelta(minutes=5)
    dispatcher.periodic_pass()
    state, reason = status(commune, node_id)
    assert state == "expired"
    assert "node offline" in reason
    assert "expired at" in reason
    with commune.db.session() as s:
        play_id = s.scalars(select(Delivery.play_id)).one()
    deliver(
        dispatcher, node_id, "events", PlayEvent(node_id=node_id, type="started", play_id=play_id)
    )
    assert status(commune, node_id) == ("started", "")


def test_an_event_is_stored_once_and_acknowledged_each_time(commune, publisher, dispatcher):
    node_id = play(commune, dispatcher)
    [(_, body)] = commune.commands()
    nack = CommandAck(node_id=node_id, command_id=body.command_id, accepted=False, reason="forged")
    for _ in range(3):  # a node re-sends until it hears the ack
        deliver(dispatcher, node_id, "events", nack)
    with commune.db.session() as s:
        assert s.scalars(select(NodeEvent.event_id)).all() == [nack.event_id]
        assert s.get_one(OutboxCommand, (body.command_id, node_id)).result == "nacked"
    assert status(commune, node_id) == ("rejected", "forged")
    assert acks(publisher, node_id) == [nack.event_id] * 3


def test_an_event_claiming_another_node_changes_nothing(commune, publisher, dispatcher):
    node_id = play(commune, dispatcher)
    liar = commune.nodes_in("thon-bac")[0]
    [(_, body)] = commune.commands()
    forged = CommandAck(node_id=node_id, command_id=body.command_id, accepted=False, reason="x")
    deliver(dispatcher, liar, "events", forged)
    with commune.db.session() as s:
        assert s.scalars(select(NodeEvent)).all() == []
    assert status(commune, node_id) == ("queued", "")
    assert publisher.sent == []


def test_a_malformed_message_is_dropped(commune, publisher, dispatcher, caplog):
    node_id = play(commune, dispatcher)
    garbage = Incoming(node_topic(node_id, "events"), b'{"type": "started"}', False, time.time())
    dispatcher.handle(garbage)
    assert "bad events from" in caplog.text
    assert status(commune, node_id) == ("queued", "")
    assert publisher.sent == []


def test_a_node_back_online_gets_what_it_missed_at_once(commune, publisher, dispatcher):
    node_id = play(commune, dispatcher)
    dispatcher.handle(WAKE)
    cmd_topic = node_topic(node_id, "cmd")
    assert [p.topic for p in publisher.sent] == [cmd_topic]
    dispatcher.handle(WAKE)  # sent a moment ago: not yet due again
    assert len(publisher.sent) == 1

    deliver(dispatcher, node_id, "state", NodeState(node_id=node_id, status="online", volume=55))
    # the command again, and the signed answer the node measures its clock by
    ack_topic = node_topic(node_id, "ack")
    assert sorted(p.topic for p in publisher.sent) == [ack_topic, cmd_topic, cmd_topic]
    with commune.db.session() as s:
        node = s.get_one(Node, node_id)
        assert (node.status, node.volume) == ("online", 55)
        assert node.clock_offset_ms is not None
        assert s.scalars(select(OutboxCommand.attempts)).one() == 2


def test_chunks_are_served_from_the_audio_store(commune, publisher, dispatcher):
    bulletin = commune.bulletin()
    node_id = commune.nodes_in("thon-tay")[1]
    whole = (commune.config.audio_dir / f"{bulletin.audio_sha256}.ogg").read_bytes()
    request = ChunkRequest(sha256=bulletin.audio_sha256, offset=100, length=300)
    missing = ChunkRequest(sha256="0" * 64, offset=0, length=10)
    for req in (request, missing):
        deliver(dispatcher, node_id, "content/req", req)

    replies = [CONTENT_ADAPTER.validate_json(p.payload) for p in publisher.sent]
    # the piece for every point fetching the file, the refusal for the asker only
    assert [p.topic for p in publisher.sent] == [
        shared_content_topic(bulletin.audio_sha256, 100),
        node_topic(node_id, "content"),
    ]
    assert all(p.expiry_s == 60 for p in publisher.sent)
    chunk, unavailable = replies
    assert isinstance(chunk, Chunk)
    data = base64.b64decode(chunk.data)
    assert data == whole[100:400]
    assert chunk.chunk_sha256 == hashlib.sha256(data).hexdigest()
    assert chunk.total_size == len(whole)
    assert isinstance(unavailable, ChunkUnavailable)
    assert unavailable.sha256 == "0" * 64


def test_the_worker_acknowledges_the_events_of_several_batches_in_one_message(
    commune, publisher, dispatcher, monkeypatch
):
    """A point's command makes three event messages within milliseconds, taken in separate
    batches: the worker holds their acknowledgements (ACK_HOLD_S) and sends one message, once
    the oldest has waited that long. The events themselves are stored at once."""
    clock = [100.0]
    monkeypatch.setattr(dispatcher, "_clock", lambda: clock[0])
    node_id = play(commune, dispatcher)
    [(_, body)] = commune.commands()
    assert isinstance(body.command, PlayCommand)
    play_id = body.command.play_id
    accepted = CommandAck(node_id=node_id, command_id=body.command_id, accepted=True)
    started = PlayEvent(node_id=node_id, type="started", play_id=play_id)
    finished = PlayEvent(node_id=node_id, type="finished", play_id=play_id)
    topic = node_topic(node_id, "events")

    def batch(event: Message) -> list[Incoming]:
        return [Incoming(topic, event.model_dump_json().encode(), False, time.time())]

    dispatcher.handle_batch(batch(accepted), ack_after=ACK_HOLD_S)
    clock[0] += ACK_HOLD_S / 2
    dispatcher.handle_batch(batch(started), ack_after=ACK_HOLD_S)
    assert status(commune, node_id) == ("started", "")
    assert acks(publisher, node_id) == []
    clock[0] += ACK_HOLD_S / 2
    dispatcher.handle_batch(batch(finished), ack_after=ACK_HOLD_S)
    ack_topic = node_topic(node_id, "ack")
    assert [p.topic for p in publisher.sent if p.topic == ack_topic] == [ack_topic]
    assert acks(publisher, node_id) == [e.event_id for e in (accepted, started, finished)]


def test_a_held_acknowledgement_goes_out_though_nothing_more_arrives(commune, publisher):
    dispatcher = Dispatcher(commune.config, commune.db, commune.key, publisher=publisher)
    node_id = play(commune, dispatcher)
    [(_, body)] = commune.commands()
    nack = CommandAck(node_id=node_id, command_id=body.command_id, accepted=False, reason="x")
    topic = node_topic(node_id, "events")
    dispatcher._thread.start()  # the worker alone: no broker, the inbox fed as paho would
    try:
        dispatcher.inbox.put(Incoming(topic, nack.model_dump_json().encode(), False, time.time()))
        wait_for(lambda: acks(publisher, node_id) == [nack.event_id], 30, "the held ack sent")
    finally:
        dispatcher._stop.set()
        dispatcher.inbox.put(STOP)
        dispatcher._thread.join(timeout=30)
