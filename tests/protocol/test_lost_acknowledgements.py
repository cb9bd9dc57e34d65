"""An acknowledgement the broker loses is noticed and the message sent again
(``protocol.mqtt_client.Client``).

On a real Mosquitto with the project's config: a point stops reading (short of CPU, or on a
slow link) while the controller's account publishes pieces on a topic it listens to, until the
broker's queue for it overflows; then the point reports. Debian 12's Mosquitto 2.0.11 logs a
PUBACK sent for each report, and none reaches the point. The client takes them as lost after
``ACK_LOST_S`` (its clock is the test's), reconnects, and paho sends them again with the
session; this time they are acknowledged. A broker that does not lose them (a later Mosquitto)
takes the same test without a reconnect.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from protocol import limits, mqtt_client
from protocol.topics import all_nodes_filter, node_topic, shared_content_topic
from tests.support import wait_for
from tests.support.link_proxy import LinkProxy
from tests.support.mqtt import drain, project_broker

PASSWORD = "a-long-test-password"
NODE, CONTROLLER = "node-1", "ctl"
PIECE = shared_content_topic("ab" * 32, 0)
PIECE_BYTES = 80_000  # about one default chunk's reply
# beyond what the broker holds for one client: it drops the rest
FLOOD = limits.BROKER_MAX_INFLIGHT_MESSAGES + limits.BROKER_MAX_QUEUED_MESSAGES + 100
REPORTS = 10
DROPPED = f"Outgoing messages are being dropped for client {NODE}"


@pytest.fixture
def brokerd(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A real Mosquitto with the project's config, the controller's account and one node's."""
    with project_broker(tmp_path, PASSWORD, CONTROLLER, [NODE]) as running:
        yield running


def session(port: int, user: str, *subscriptions: str) -> mqtt_client.Session:
    return mqtt_client.Session(
        client_id=user,
        username=user,
        password=PASSWORD,
        host="127.0.0.1",
        port=port,
        subscriptions=subscriptions,
        session_expiry_s=3600,
    )


@contextlib.contextmanager
def proxied_node(
    port: int, *, ack_backoff: bool = True, max_inflight: int = limits.BROKER_MAX_INFLIGHT_MESSAGES
) -> Iterator[tuple[mqtt_client.Client, LinkProxy, list[float]]]:
    """A node's client connected through a proxy that can drop its PUBACKs, timed by a clock
    the test moves (``now[0]``)."""
    now = [0.0]
    links: queue.Queue[mqtt_client.Link] = queue.Queue()
    with LinkProxy(target_port=port, frames=True) as link:
        node_session = replace(session(port, NODE), port=link.port, max_inflight=max_inflight)
        node = mqtt_client.make_client(
            node_session, links.put, clock=lambda: now[0], ack_backoff=ack_backoff
        )
        mqtt_client.start(node, node_session)
        try:
            assert links.get(timeout=5) == mqtt_client.Connected()
            yield node, link, now
        finally:
            node.disconnect()
            node.loop_stop()


def test_a_point_whose_queue_overflowed_gets_its_reports_acknowledged(brokerd):
    port, log_file = brokerd
    now = [0.0]
    links: queue.Queue[mqtt_client.Link] = queue.Queue()
    node_session = session(port, NODE)
    node = mqtt_client.make_client(node_session, links.put, clock=lambda: now[0])
    mqtt_client.start(node, node_session)
    heard: queue.Queue[mqtt_client.Link] = queue.Queue()
    controller_session = session(port, CONTROLLER, all_nodes_filter("events"))
    controller = mqtt_client.make_client(controller_session, heard.put)
    mqtt_client.start(controller, controller_session)
    try:
        assert links.get(timeout=5) == mqtt_client.Connected()
        assert heard.get(timeout=5) == mqtt_client.Connected()
        subscribed = threading.Event()
        node.on_subscribe = lambda *_args: subscribed.set()
        node.subscribe(PIECE, qos=0)  # as the fetcher listens for a piece (QoS 0)
        assert subscribed.wait(5)
        node.loop_stop()  # the point reads nothing from here on

        payload = b"x" * PIECE_BYTES
        sent = [controller.publish(PIECE, payload, qos=0) for _ in range(FLOOD)]
        wait_for(lambda: all(info.is_published() for info in sent), 30, "the pieces sent")
        wait_for(lambda: DROPPED in log_file.read_text(), 10, "the broker dropping for the point")

        reports = [node.publish(node_topic(NODE, "events"), b"{}", qos=1) for _ in range(REPORTS)]
        node.loop_write()
        # the broker has them (and has answered each with its PUBACK) once they reach the
        # controller
        reached = [x for x in drain(heard, 2.0) if isinstance(x, mqtt_client.Incoming)]
        assert len(reached) == REPORTS
        node.loop_start()  # reading again: every piece the broker kept for it, then nothing
        assert len(drain(links, quiet_s=2.0)) > limits.BROKER_MAX_QUEUED_MESSAGES

        lost_by_broker = not all(info.is_published() for info in reports)
        if lost_by_broker:  # Mosquitto 2.0.11: none of them came
            assert node.unacknowledged() == REPORTS
            now[0] += mqtt_client.ACK_LOST_S - 1
            assert node.unacknowledged() == REPORTS
        now[0] += mqtt_client.ACK_LOST_S + 1
        assert node.unacknowledged() == (REPORTS if lost_by_broker else 0)
        assert node.acks_lost == (REPORTS if lost_by_broker else 0)
        wait_for(
            lambda: node.unacknowledged() == 0,
            15,
            "the reports sent again on a new connection and acknowledged",
        )
        assert all(info.is_published() for info in reports)
        if lost_by_broker:
            seen = drain(links, quiet_s=0.5)
            assert mqtt_client.Connected() in seen  # it reconnected
    finally:
        for client in (node, controller):
            client.disconnect()
            client.loop_stop()


def test_the_wait_starts_again_on_a_new_connection_and_nothing_is_judged_while_offline(brokerd):
    """A point back from a 4G outage longer than ``ACK_LOST_S``: what it sent before is sent
    again on the new connection and gets a round trip's time there; it is not taken as lost,
    and the client does not reconnect again for it."""
    with proxied_node(brokerd[0]) as (node, link, now):
        link.drop_pubacks = 1
        report = node.publish(node_topic(NODE, "events"), b"{}", qos=1)
        wait_for(lambda: link.drop_pubacks == 0, 5, "the report's PUBACK lost")
        link.blackhole = True  # the link goes dead: nothing flows either way
        now[0] += 5 * mqtt_client.ACK_LOST_S  # offline for a while
        link.cut()
        wait_for(lambda: not node.is_connected(), 10, "the link down")
        assert node.unacknowledged() == 1  # nothing judged while offline
        assert node.acks_lost == 0
        link.drop_pubacks = 1  # and lost again on the next connection
        link.blackhole = False
        wait_for(node.is_connected, 15, "the point back")
        wait_for(lambda: link.drop_pubacks == 0, 5, "its report sent again, its ack lost")
        now[0] += mqtt_client.ACK_LOST_S - 1  # on the new connection: not yet
        assert node.unacknowledged() == 1
        assert node.acks_lost == 0
        assert link.connections == 2
        now[0] += 2
        assert node.unacknowledged() == 1  # until its copy is acknowledged
        assert node.acks_lost == 1
        wait_for(report.is_published, 15, "sent again on a third connection and acked")
        assert node.unacknowledged() == 0


def test_each_reconnection_for_a_lost_ack_doubles_the_wait_until_a_connection_holds(brokerd):
    """A broker so loaded that its acknowledgements come late looks, to each client, like one
    that loses them: reconnecting every ``ACK_LOST_S`` would add a TLS handshake and a resent
    session per client each time, to the load that made them late (5,000 points). So after a
    reconnection for a lost acknowledgement the next one waits twice as long, up to
    ``ACK_LOST_MAX_S``, and a connection that lasts that long brings the wait back."""
    with proxied_node(brokerd[0]) as (node, link, now):
        link.drop_pubacks = 2  # the report's, then the one of its copy sent again
        report = node.publish(node_topic(NODE, "events"), b"{}", qos=1)
        wait_for(lambda: link.drop_pubacks == 1, 5, "the report's PUBACK lost")
        now[0] += mqtt_client.ACK_LOST_S + 1
        assert node.unacknowledged() == 1  # until its copy is acknowledged
        assert node.acks_lost == 1
        assert node.ack_wait() == 2 * mqtt_client.ACK_LOST_S
        wait_for(lambda: link.drop_pubacks == 0, 15, "sent again, and its PUBACK lost again")
        assert link.connections == 2
        now[0] += mqtt_client.ACK_LOST_S + 1  # the first wait has passed: not the second
        assert node.unacknowledged() == 1
        assert node.acks_lost == 1
        now[0] += mqtt_client.ACK_LOST_S
        assert node.unacknowledged() == 1
        assert node.acks_lost == 2
        assert node.ack_wait() == 4 * mqtt_client.ACK_LOST_S
        wait_for(report.is_published, 15, "sent on a third connection and acknowledged")
        assert link.connections == 3
        now[0] += mqtt_client.ACK_LOST_MAX_S  # the third connection holds
        assert node.unacknowledged() == 0
        assert node.ack_wait() == mqtt_client.ACK_LOST_S


def test_the_controller_s_client_reconnects_at_each_wait_without_doubling_it(brokerd):
    """The controller is one client, and every message it sends waits behind one the broker
    lost (paho's window): its wait stays ``ACK_LOST_S`` however often it reconnects (at 5,000
    points a doubled wait held every audio piece back for minutes)."""
    with proxied_node(brokerd[0], ack_backoff=False) as (client, link, now):
        link.drop_pubacks = 2
        message = client.publish(node_topic(NODE, "ack"), b"{}", qos=1)
        wait_for(lambda: link.drop_pubacks == 1, 5, "the PUBACK lost")
        now[0] += mqtt_client.ACK_LOST_S + 1
        assert client.unacknowledged() == 1
        assert client.acks_lost == 1
        wait_for(lambda: link.drop_pubacks == 0, 15, "sent again, and its PUBACK lost again")
        now[0] += mqtt_client.ACK_LOST_S + 1
        assert client.unacknowledged() == 1
        assert client.acks_lost == 2
        assert client.ack_wait() == mqtt_client.ACK_LOST_S
        wait_for(message.is_published, 15, "sent on a third connection and acknowledged")


@pytest.mark.parametrize("ack_backoff", [True, False], ids=["point", "controller"])
def test_a_backlog_the_broker_keeps_acknowledging_is_late_not_lost(brokerd, ack_backoff):
    """Messages that wait in paho's queue longer than the wait, behind a window the broker
    keeps moving, are not taken as lost: at 5,000 points the controller's were, and it
    reconnected every 15 s with thousands still to send (BENCHMARKS.md, "5,000 points")."""
    port, _log = brokerd
    # one in flight: each message waits in paho's queue for the one before it
    with proxied_node(port, ack_backoff=ack_backoff, max_inflight=1) as (node, link, now):
        link.delay_s = 0.1  # each round trip at least 0.2 s
        reports = [node.publish(node_topic(NODE, "events"), b"{}", qos=1) for _ in range(20)]
        for report in reports:
            wait_for(report.is_published, 10, "the next acknowledgement")
            now[0] += 1.0  # the last of them is judged 20 s after it was handed over
            node.unacknowledged()
        assert node.unacknowledged() == 0
        assert node.acks_lost == 0
        assert link.connections == 1
