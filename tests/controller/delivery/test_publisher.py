"""The publishers: one test class run against the in-memory one and the MQTT one on a real
Mosquitto, so the fake that the unit tests rely on cannot drift from the real thing.

On the broker, what arrived is read by a second client subscribed to every topic, and turned
into the same ``Published`` records the in-memory publisher keeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from controller.delivery import outbox
from controller.delivery.dispatcher import Dispatcher
from controller.delivery.publisher import MemoryPublisher, MqttPublisher, Published, Publisher
from controller.models import Bulletin, OutboxCommand
from controller.ops.cluster import Cluster
from protocol import mqtt_client
from protocol.messages import EventAck, PlayCommand
from protocol.topics import everything_filter, node_topic
from tests.controller.commune import Commune
from tests.support import wait_for


@dataclass
class Link:
    publisher: Publisher
    received: Callable[[int], list[Published]]  # the first n messages, waiting for them


def memory_link() -> Link:
    publisher = MemoryPublisher()

    def received(n: int) -> list[Published]:
        return publisher.sent[:n]

    return Link(publisher, received)


@pytest.fixture
def mqtt_link(commune: Commune) -> Iterator[Link]:
    """The dispatcher's MQTT publisher on the commune's own broker, and a listener."""
    config = commune.config
    cluster = Cluster(config)
    cluster.start_broker()
    got: list[Published] = []
    subscribed = threading.Event()

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        expiry = getattr(msg.properties, "MessageExpiryInterval", None)
        got.append(Published(msg.topic, msg.payload.decode(), msg.qos, expiry))

    listener = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    listener.username_pw_set(config.mqtt_user, config.mqtt_password)
    listener.on_message = on_message
    listener.on_subscribe = lambda *_a: subscribed.set()
    listener.connect("127.0.0.1", config.mqtt_port)
    listener.loop_start()
    listener.subscribe(everything_filter(), qos=1)
    # the dispatcher's own client, made as in production; its worker is not needed here
    dispatcher = Dispatcher(config, commune.db, commune.key)
    client = dispatcher.client
    mqtt_client.start(client, dispatcher.session)
    try:
        assert subscribed.wait(5), "the listener's subscription was not acknowledged"
        assert dispatcher.inbox.get(timeout=5)[0] == "connected"

        def received(n: int) -> list[Published]:
            wait_for(lambda: len(got) >= n, 5, f"{n} messages on the broker")
            time.sleep(0.2)  # anything beyond n (a duplicate) would arrive meanwhile
            return list(got)

        assert isinstance(dispatcher.publisher, MqttPublisher)
        yield Link(dispatcher.publisher, received)
    finally:
        for c in (client, listener):
            c.disconnect()
            c.loop_stop()
        cluster.stop_broker()


@pytest.fixture(params=["memory", "mqtt"])
def link(request: pytest.FixtureRequest) -> Link:
    if request.param == "memory":
        return memory_link()
    made: Link = request.getfixturevalue("mqtt_link")
    return made


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

    def test_messages_keep_their_order(self, link):
        topics = [node_topic(f"loa-{k}", "cmd") for k in range(5)]
        for k, topic in enumerate(topics):
            link.publisher.publish(topic, str(k))
        got = link.received(5)
        assert [(p.topic, p.payload) for p in got] == [(t, str(k)) for k, t in enumerate(topics)]

    def test_the_outbox_sends_each_node_its_own_signed_command(self, link, commune):
        nodes = commune.nodes_in("thon-dong")
        bulletin = commune.bulletin(valid_for=timedelta(minutes=30))
        with commune.db.session() as s:
            outbox.queue_play(
                s, commune.key, s.get_one(Bulletin, bulletin.id), nodes, play_id="b1", play_at=None
            )
        outbox.send_due(commune.db, link.publisher, resend_interval_s=10)

        got = link.received(len(nodes))
        assert sorted(p.topic for p in got) == sorted(node_topic(n, "cmd") for n in nodes)
        for sent in got:
            node_id = sent.topic.split("/")[3]
            body = commune.verified(node_id, sent.payload)
            assert body.targets == [node_id]
            assert isinstance(body.command, PlayCommand)
            assert body.command.bulletin_id == bulletin.id
            assert sent.expiry_s is not None
            assert 30 * 60 - 5 <= sent.expiry_s <= 30 * 60 + 1
        with commune.db.session() as s:
            assert set(s.scalars(select(OutboxCommand.attempts))) == {1}
