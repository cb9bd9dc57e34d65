"""The broker's queue limits against the protocol: every node's burst reaches the controller's
reading session, none is dropped by the broker (issue 18, "no message dropped by the broker").

Mosquitto drops a QoS 1 message silently once a client has ``max_inflight_messages`` in flight
and ``max_queued_messages`` queued. A controller that reads slower than the nodes report (one
busy moment is enough) then loses events and chunk requests until the nodes ask again.
"""

from __future__ import annotations

import queue
import re
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from controller.delivery.dispatcher import Dispatcher
from controller.nodes import broker
from protocol import limits, mqtt_client
from protocol.topics import PREFIX, all_nodes_filter, node_topic, shared_content_topic
from tests.controller.commune import Commune
from tests.support import mqtt_packets, wait_for
from tests.support.mqtt import drain, project_broker

NODES = ("node-1", "node-2", "node-3")
PER_NODE = 150  # 450 in all: above the broker's 100 in flight + 200 queued
PASSWORD = "a-long-test-password"
DROPPED = "Outgoing messages are being dropped"


def rendered_limit(config: str, option: str) -> int:
    found = re.search(rf"^{option} (\d+)$", config, re.MULTILINE)
    assert found, f"{option} missing from the broker config"
    return int(found.group(1))


def test_the_brokers_queues_are_the_protocols_and_hold_every_nodes_burst(tmp_path: Path):
    files = broker.BrokerFiles(tmp_path)
    config = broker.write_config(files, broker.free_port()).read_text()
    assert rendered_limit(config, "max_queued_messages") == limits.BROKER_MAX_QUEUED_MESSAGES
    assert rendered_limit(config, "max_inflight_messages") == limits.BROKER_MAX_INFLIGHT_MESSAGES
    assert rendered_limit(config, "max_inflight_bytes") == limits.BROKER_MAX_INFLIGHT_BYTES
    assert rendered_limit(config, "max_queued_bytes") == limits.BROKER_MAX_QUEUED_BYTES
    # a node's burst: its chunk window, its state, four events of each of a few plays in a row
    assert limits.NODE_BURST_MESSAGES >= limits.FETCH_WINDOW + 1 + 4 * 3
    assert limits.CONTROLLER_RECEIVE_MAXIMUM == 65_535  # MQTT 5's largest Receive Maximum
    assert limits.points_one_session_holds() >= limits.SIZED_FOR_POINTS


def test_the_dispatcher_s_reading_session_asks_for_the_whole_window(commune: Commune):
    dispatcher = Dispatcher(commune.config, commune.db, commune.key)
    assert dispatcher.reads.receive_maximum == limits.CONTROLLER_RECEIVE_MAXIMUM
    props = mqtt_client.connect_properties(dispatcher.reads)
    announced = props.json()["ReceiveMaximum"]  # type: ignore[no-untyped-call]
    assert announced == limits.CONTROLLER_RECEIVE_MAXIMUM
    # the sending session is sent nothing, and leaves what an older release subscribed to
    assert dispatcher.session.subscriptions == ()
    assert set(dispatcher.session.unsubscriptions) == set(dispatcher.reads.subscriptions)


@pytest.fixture(scope="module")
def brokerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A real Mosquitto with the project's config, two controller accounts and three nodes."""
    root = tmp_path_factory.mktemp("broker")
    with project_broker(root, PASSWORD, "ctl-new", NODES, "ctl-old") as running:
        yield running


def connack_receive_maximum(port: int, user: str) -> int:
    """The Receive Maximum the broker announces to ``user`` in its CONNACK."""
    announced: list[int] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, PASSWORD)
    client.on_connect = lambda _c, _u, _f, _rc, props: announced.append(props.ReceiveMaximum)
    client.connect("127.0.0.1", port)
    while not announced:
        client.loop(timeout=0.1)
    client.disconnect()
    return announced[0]


def test_the_controller_keeps_the_brokers_whole_receive_window_in_flight(brokerd, commune):
    """paho sends 20 QoS 1 messages, then waits for PUBACKs, whatever the broker allows; an
    emergency's commands go out in windows, each a round trip through a busy broker. With the
    broker's window, an emergency to the commune's points takes a few round trips, not 50."""
    port, _log = brokerd
    window = connack_receive_maximum(port, "ctl-new")
    assert window == limits.BROKER_MAX_INFLIGHT_MESSAGES
    dispatcher = Dispatcher(commune.config, commune.db, commune.key)
    assert dispatcher.client.max_inflight_messages == window
    node = mqtt_client.make_client(
        mqtt_client.Session("n", "n", "p", "127.0.0.1", port, (), 0), lambda _item: None
    )
    assert node.max_inflight_messages == window  # a node's events and requests likewise
    assert -(-limits.SIZED_FOR_POINTS // window) <= 10  # round trips for a commune's emergency


class PausedController:
    """A controller session that is connected and subscribed but does not read its socket yet:
    the broker can only keep what it sends in flight or in its queue, as for a busy controller."""

    def __init__(self, port: int, user: str, receive_maximum: int | None) -> None:
        self.session = mqtt_client.Session(
            client_id=user,
            username=user,
            password=PASSWORD,
            host="127.0.0.1",
            port=port,
            subscriptions=(all_nodes_filter("events"),),
            session_expiry_s=0,
            receive_maximum=receive_maximum,
        )
        self.got: list[mqtt_client.Link] = []
        self.client = mqtt_client.make_client(self.session, self.got.append)
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: subscribed.set()
        props = mqtt_client.connect_properties(self.session)
        self.client.connect("127.0.0.1", port, clean_start=True, properties=props)
        while not subscribed.is_set():
            self.client.loop(timeout=0.1)

    def received(self) -> int:
        return sum(isinstance(item, mqtt_client.Incoming) for item in self.got)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def burst(port: int, per_node: int = PER_NODE) -> None:
    """Each node publishes its share of events at QoS 1 and waits for the broker's PUBACKs:
    by then the broker has routed every one to the controller's session (or dropped it)."""
    for node in NODES:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=node, protocol=mqtt.MQTTv5)
        client.username_pw_set(node, PASSWORD)
        client.connect("127.0.0.1", port)
        client.loop_start()
        infos = [
            client.publish(node_topic(node, "events"), f'{{"n": {k}}}', qos=1)
            for k in range(per_node)
        ]
        for info in infos:
            info.wait_for_publish(timeout=10)
            assert info.is_published()
        client.disconnect()
        client.loop_stop()


@pytest.mark.parametrize(
    ("user", "receive_maximum", "expected"),
    [
        # the controller's window: every message in flight, none queued, none dropped
        ("ctl-new", limits.CONTROLLER_RECEIVE_MAXIMUM, len(NODES) * PER_NODE),
        # the broker's default window: 100 in flight + 200 queued, the rest dropped
        (
            "ctl-old",
            None,
            limits.BROKER_MAX_INFLIGHT_MESSAGES + limits.BROKER_MAX_QUEUED_MESSAGES,
        ),
    ],
)
def test_a_burst_from_nodes_reaches_a_busy_controller(brokerd, user, receive_maximum, expected):
    port, log_file = brokerd
    controller = PausedController(port, user, receive_maximum)
    try:
        burst(port)
        controller.client.loop_start()  # the controller is free again and reads
        wait_for(lambda: controller.received() >= expected, 10, f"{expected} events")
        # the broker's in-flight acknowledgements are back: nothing more is on its way
        controller.client.publish(node_topic("node-1", "ack"), "{}", qos=1).wait_for_publish(5)
        assert controller.received() == expected
    finally:
        controller.close()
    dropped = [ln for ln in log_file.read_text().splitlines() if DROPPED in ln and user in ln]
    assert bool(dropped) == (receive_maximum is None), dropped


def test_the_sending_session_leaves_what_an_older_release_subscribed_to(brokerd):
    """The controller read and sent on one persistent session before; the broker keeps that
    session's subscriptions, and would go on queueing every node's messages for the session
    that now only sends."""
    port, _log = brokerd
    old = mqtt_client.Session(
        "ctl-new", "ctl-new", PASSWORD, "127.0.0.1", port, (all_nodes_filter("events"),), 3600
    )
    for session in (old, replace(old, subscriptions=(), unsubscriptions=old.subscriptions)):
        got: queue.Queue[mqtt_client.Link] = queue.Queue()
        client = mqtt_client.make_client(session, got.put)
        mqtt_client.start(client, session)
        assert got.get(timeout=5) == mqtt_client.Connected()
        time.sleep(0.5)  # its (un)subscription made
        burst(port, per_node=1)
        heard = [x for x in drain(got, 0.5) if isinstance(x, mqtt_client.Incoming)]
        client.disconnect()
        client.loop_stop()
        assert len(heard) == (len(NODES) if session is old else 0)


PIECE_BYTES = 240_000  # about a largest chunk reply (MAX_CHUNK_BYTES in base64)
PIECES = 1_500  # 360 MB: twice what one client may pin, far less than a window of 65,535


@pytest.fixture
def watched_broker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[int, dict[str, int]]]:
    """The project's broker with one node and an account that reads the broker's own figures
    (``$SYS``, published every second here): yields its port and the latest figures."""
    files = broker.BrokerFiles(tmp_path)
    broker.add_controller(files, "ctl", PASSWORD)
    for user in ("node-2", "watch"):
        broker.set_password(files, user, PASSWORD)
    broker.write_acl(files, "ctl", ["node-2"])
    with files.acl_file.open("a") as fh:
        fh.write("\nuser watch\ntopic read $SYS/#\n")
    render = broker.write_config

    def every_second(*args: object, **kwargs: object) -> Path:
        path = render(*args, **kwargs)  # type: ignore[arg-type]
        path.write_text(path.read_text() + "sys_interval 1\n")
        return path

    monkeypatch.setattr(broker, "write_config", every_second)
    port = broker.free_port()
    proc = broker.start_broker(files, port)
    figures: dict[str, int] = {}
    watch = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="watch", protocol=mqtt.MQTTv5)
    watch.username_pw_set("watch", PASSWORD)
    watch.on_message = lambda _c, _u, msg: figures.__setitem__(msg.topic, int(msg.payload))
    watch.connect("127.0.0.1", port)
    watch.subscribe("$SYS/broker/heap/current")
    watch.loop_start()
    try:
        yield port, figures
    finally:
        watch.disconnect()
        watch.loop_stop()
        broker.stop_broker(proc)


def test_a_node_announcing_the_largest_window_pins_no_more_than_the_brokers_bound(watched_broker):
    """A client chooses its own Receive Maximum, and Mosquitto 2.0 takes it as that client's
    in-flight window, past ``max_inflight_messages``. A stolen node's account that announced
    65,535, subscribed at QoS 1 to every shared chunk and never read its socket made the broker
    keep every piece sent (its own requests, 20 a second of 189 KiB, and what the other points
    fetch): 480 MB in 90 s on the demo, 389 MiB of the broker's heap for these pieces, up
    to 65,735 packets (16 GB); a broker out of memory silences every point. The broker's byte
    limits (``BROKER_MAX_INFLIGHT_BYTES``, ``BROKER_MAX_QUEUED_BYTES``) bound it."""
    port, figures = watched_broker
    heap = "$SYS/broker/heap/current"
    wait_for(lambda: heap in figures, 5, "the broker's heap figure")
    with HostileReader(port, "node-2", PASSWORD, f"{PREFIX}/content/+/+"):
        sender = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ctl", protocol=mqtt.MQTTv5)
        sender.username_pw_set("ctl", PASSWORD)
        sender.connect("127.0.0.1", port)
        sender.loop_start()
        try:
            piece = b"x" * PIECE_BYTES
            infos = [
                sender.publish(shared_content_topic("ab" * 32, k * PIECE_BYTES), piece, qos=1)
                for k in range(PIECES)
            ]
            for info in infos:  # acknowledged: kept for the hostile client, or dropped
                info.wait_for_publish(timeout=30)
                assert info.is_published()
        finally:
            sender.disconnect()
            sender.loop_stop()
        figures.pop(heap)
        held = wait_for(lambda: figures.get(heap), 5, "the heap after the pieces")
    # in flight and queued, plus the packets Mosquitto has written towards the socket (at most
    # max_queued_messages of them), plus a margin for the broker's own structures
    bound = (
        limits.BROKER_MAX_INFLIGHT_BYTES
        + limits.BROKER_MAX_QUEUED_BYTES
        + limits.BROKER_MAX_QUEUED_MESSAGES * limits.MAX_PACKET_BYTES
        + 8 * 1024 * 1024
    )
    assert held <= bound, f"the broker holds {held >> 20} MiB for one client"


class HostileReader:
    """A raw MQTT 5 client with the largest Receive Maximum that subscribes at QoS 1, then
    never reads its socket again, as an attacker's script would."""

    def __init__(self, port: int, user: str, password: str, topic: str) -> None:
        window = b"\x21" + struct.pack(">H", limits.CONTROLLER_RECEIVE_MAXIMUM)
        self.sock = mqtt_packets.connect(port, user, password, properties=window)
        subscribe = struct.pack(">H", 1) + b"\x00" + mqtt_packets.text(topic) + b"\x01"  # QoS 1
        self.sock.sendall(mqtt_packets.packet(mqtt_packets.SUBSCRIBE, subscribe))
        time.sleep(0.5)  # subscribed (its SUBACK, like the CONNACK's rest, is never read)

    def __enter__(self) -> HostileReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.sock.close()
