"""The publishers: one test class run against the in-memory one and the MQTT one on a real
Mosquitto, so the fake that the unit tests rely on cannot drift from the real thing.

On the broker, what arrived is read by a second client subscribed to every topic, and turned
into the same ``Published`` records the in-memory publisher keeps.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from controller.delivery import outbox
from controller.delivery.dispatcher import Dispatcher
from controller.delivery.publisher import MemoryPublisher, MqttPublisher, Published, Publisher
from controller.models import Bulletin, Node, OutboxCommand
from controller.ops.cluster import Cluster
from protocol import mqtt_client
from protocol.limits import MAX_PACKET_BYTES
from protocol.messages import EventAck, PlayCommand
from protocol.topics import everything_filter, group_shard, group_topic, node_topic
from tests.controller.commune import Commune
from tests.support import wait_for
from tests.support.link_proxy import LinkProxy
from tests.support.mqtt import Recorder, add_observer


@dataclass
class Link:
    publisher: Publisher
    received: Callable[[int], list[Published]]  # the first n messages, waiting for them


def memory_link() -> Link:
    publisher = MemoryPublisher()

    def received(n: int) -> list[Published]:
        return publisher.sent[:n]

    return Link(publisher, received)


@dataclass
class Broker:
    cluster: Cluster
    observer: tuple[str, str]  # an account that may read every topic


@pytest.fixture
def broker(commune: Commune) -> Iterator[Broker]:
    """The commune's own broker, running, with an observer's account."""
    cluster = Cluster(commune.config)
    observer = add_observer(commune.config.broker_dir)
    cluster.start_broker()
    try:
        yield Broker(cluster, observer)
    finally:
        cluster.stop_broker()


@pytest.fixture
def listener(commune: Commune, broker: Broker) -> Iterator[Recorder]:
    """A client of the commune's broker subscribed to every topic with the observer's account."""
    recorder = Recorder(commune.config.mqtt_port, *broker.observer, subscribe=everything_filter())
    yield recorder
    recorder.close()


def received_from(listener: Recorder) -> Callable[[int], list[Published]]:
    def received(n: int) -> list[Published]:
        wait_for(lambda: len(listener.got) >= n, 5, f"{n} messages on the broker")
        time.sleep(0.2)  # anything beyond n (a duplicate) would arrive meanwhile
        return [Published(t, p.decode(), 1, e) for t, p, e in listener.got]

    return received


@pytest.fixture
def mqtt_link(commune: Commune, listener: Recorder) -> Iterator[Link]:
    """The dispatcher's MQTT publisher on the commune's own broker, and a listener."""
    # the dispatcher's own client, made as in production; its worker is not needed here
    dispatcher = Dispatcher(commune.config, commune.db, commune.key)
    client = dispatcher.client
    mqtt_client.start(client, dispatcher.session)
    try:
        assert dispatcher.inbox.get(timeout=5) == mqtt_client.Connected()
        assert isinstance(dispatcher.publisher, MqttPublisher)
        yield Link(dispatcher.publisher, received_from(listener))
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.fixture(params=["memory", "mqtt"])
def link(request: pytest.FixtureRequest) -> Link:
    if request.param == "memory":
        return memory_link()
    made: Link = request.getfixturevalue("mqtt_link")
    return made


def test_a_message_counts_as_unacknowledged_until_the_broker_acknowledges_it(
    broker: Broker, mqtt_link: Link
) -> None:
    """What the audio pieces' pacing counts on (``delivery.chunks``): a message paho took is
    not acknowledged until the broker says so (the class below shows the count falling)."""
    assert broker.cluster.broker_proc is not None
    pid = broker.cluster.broker_proc.pid
    acked = threading.Event()
    mqtt_link.publisher.call_on_ack(acked.set)
    os.kill(pid, signal.SIGSTOP)  # the broker reads nothing, so acknowledges nothing
    try:
        assert mqtt_link.publisher.publish(node_topic("loa-1", "ack"), "{}")
        assert mqtt_link.publisher.unacknowledged() == 1
        assert not acked.wait(0.5)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert acked.wait(5)
    wait_for(lambda: mqtt_link.publisher.unacknowledged() == 0, 5, "the acknowledgement counted")


def test_an_acknowledgement_that_never_comes_gets_the_message_sent_again(
    commune: Commune, listener: Recorder
) -> None:
    """One PUBACK lost with the connection up held back every audio piece for good at 1,000
    points (``delivery.publisher``). Past ``mqtt_client.ACK_LOST_S`` the controller
    reconnects, so that paho sends the message again and the broker acknowledges it: the
    count falls."""
    now = [0.0]
    with LinkProxy(target_port=commune.config.mqtt_port, frames=True) as proxy:
        dispatcher = Dispatcher(commune.config, commune.db, commune.key)
        session = replace(dispatcher.session, port=proxy.port)
        client = mqtt_client.make_client(session, dispatcher.inbox.put, clock=lambda: now[0])
        publisher = MqttPublisher(client)
        mqtt_client.start(client, session)
        try:
            assert dispatcher.inbox.get(timeout=5) == mqtt_client.Connected()
            proxy.drop_pubacks = 1
            lost, kept = node_topic("loa-1", "ack"), node_topic("loa-2", "ack")
            assert publisher.publish(lost, "{}")
            assert publisher.publish(kept, "{}")
            wait_for(lambda: len(listener.got) >= 2, 5, "both on the broker")
            time.sleep(0.5)  # the second's acknowledgement is in; the first's never will be
            assert publisher.unacknowledged() == 2  # the first holds back the count
            assert proxy.connections == 1

            now[0] += mqtt_client.ACK_LOST_S - 1
            assert publisher.unacknowledged() == 2
            now[0] += 2
            assert publisher.unacknowledged() == 2  # counted until its copy is acknowledged
            assert client.acks_lost == 1

            # a new connection, on which paho sends the first again and it is acknowledged
            wait_for(lambda: proxy.connections == 2, 10, "the controller reconnecting")
            assert publisher.publish(node_topic("loa-3", "ack"), "{}")
            wait_for(lambda: publisher.unacknowledged() == 0, 10, "the message sent again acked")
            wait_for(lambda: [t for t, _p, _e in listener.got].count(lost) == 2, 5, "resent")
            assert client.acks_lost == 1
        finally:
            client.disconnect()
            client.loop_stop()


def test_the_controller_s_client_keeps_the_shortest_wait_for_a_lost_acknowledgement(
    commune: Commune,
) -> None:
    dispatcher = Dispatcher(commune.config, commune.db, commune.key)
    assert not dispatcher.client.ack_backoff  # protocol.mqtt_client.ACK_LOST_MAX_S


class TestPublisher:
    def test_a_message_arrives_once_on_its_topic_at_qos_1(self, link):
        ack = EventAck(event_ids=["e1"]).model_dump_json()
        link.publisher.publish(node_topic("loa-1", "ack"), ack)
        assert link.received(1) == [Published("loa/v1/node/loa-1/ack", ack, 1, None)]

    def test_an_expiry_travels_with_its_message(self, link):
        link.publisher.publish(node_topic("loa-1", "content"), "{}", expiry_s=60)
        [got] = link.received(1)
        assert got.expiry_s is not None
        assert 59 <= got.expiry_s <= 60  # the broker counts down the time it held it

    def test_a_message_over_the_brokers_packet_limit_is_refused_and_the_link_holds(self, link):
        topic = node_topic("loa-1", "content")
        assert link.publisher.publish(topic, "x" * MAX_PACKET_BYTES, expiry_s=60) is False
        assert link.publisher.publish(topic, "after") is True
        assert [(p.topic, p.payload) for p in link.received(1)] == [(topic, "after")]

    def test_what_the_broker_acknowledged_is_no_longer_counted_and_wakes_who_waits(self, link):
        acked = threading.Event()
        link.publisher.call_on_ack(acked.set)
        link.publisher.publish(node_topic("loa-1", "ack"), "{}")
        assert acked.wait(5)
        link.received(1)
        wait_for(lambda: link.publisher.unacknowledged() == 0, 5, "the acknowledgement counted")

    def test_messages_keep_their_order(self, link):
        topics = [node_topic(f"loa-{k}", "cmd") for k in range(5)]
        for k, topic in enumerate(topics):
            link.publisher.publish(topic, str(k))
        got = link.received(5)
        assert [(p.topic, p.payload) for p in got] == [(t, str(k)) for k, t in enumerate(topics)]

    def test_the_outbox_sends_each_node_its_signed_command(self, link, commune):
        nodes = commune.nodes_in("thon-dong")
        bulletin = commune.bulletin(valid_for=timedelta(minutes=30))
        with commune.db.session() as s:
            for node in s.scalars(select(Node).where(Node.id.in_(nodes))):
                node.group_commands = True  # as their agents' states said
            outbox.queue_play(
                s, commune.key, s.get_one(Bulletin, bulletin.id), nodes, play_id="b1", play_at=None
            )
        outbox.send_due(commune.db, link.publisher, resend_interval_s=10)

        # a node alone in its shard gets it on its own topic, shard-mates once on their group's
        shards: dict[str, list[str]] = {}
        for n in nodes:
            shards.setdefault(group_topic(group_shard(n)), []).append(n)
        where = {t if len(ns) > 1 else node_topic(ns[0], "cmd"): ns for t, ns in shards.items()}
        got = link.received(len(where))
        assert sorted(p.topic for p in got) == sorted(where)
        for sent in got:
            for node_id in where[sent.topic]:
                body = commune.verified(node_id, sent.payload)
                assert sorted(body.targets) == sorted(where[sent.topic])
                assert isinstance(body.command, PlayCommand)
                assert body.command.bulletin_id == bulletin.id
            assert sent.expiry_s is not None
            assert 30 * 60 - 5 <= sent.expiry_s <= 30 * 60 + 1
        with commune.db.session() as s:
            assert set(s.scalars(select(OutboxCommand.attempts))) == {1}


def test_a_command_the_client_cannot_queue_is_not_recorded_as_sent(commune, listener):
    """paho refuses a publish once its queue is full; the outbox must leave that command due
    for the next pass instead of counting it sent. The queue is made small (3) and the client
    is offline, so the first pass fills it deterministically."""
    nodes = commune.nodes_in("thon-dong", "thon-tay", "thon-bac")
    assert len(nodes) == 5
    bulletin = commune.bulletin(valid_for=timedelta(minutes=30))
    with commune.db.session() as s:
        outbox.queue_play(
            s, commune.key, s.get_one(Bulletin, bulletin.id), nodes, play_id="b1", play_at=None
        )
    session = replace(Dispatcher(commune.config, commune.db, commune.key).session, max_queued=3)
    client = mqtt_client.make_client(session, lambda _link: None)
    publisher = MqttPublisher(client)

    outbox.send_due(commune.db, publisher, resend_interval_s=10)
    with commune.db.session() as s:
        attempts = sorted(s.scalars(select(OutboxCommand.attempts)))
        unsent = s.scalars(select(OutboxCommand).where(OutboxCommand.last_sent_at.is_(None)))
        assert attempts == [0, 0, 1, 1, 1]
        assert len(unsent.all()) == 2

    mqtt_client.start(client, session)  # the 3 queued go out; the next passes send the rest
    try:

        def all_arrived() -> bool:
            outbox.send_due(commune.db, publisher, resend_interval_s=10)
            return len(listener.got) >= 5

        wait_for(all_arrived, 30, "every command on the broker")
    finally:
        client.disconnect()
        client.loop_stop()
    time.sleep(0.2)  # a duplicate would arrive meanwhile
    assert sorted(t for t, _p, _e in listener.got) == sorted(node_topic(n, "cmd") for n in nodes)
    with commune.db.session() as s:
        assert sorted(s.scalars(select(OutboxCommand.attempts))) == [1] * 5
