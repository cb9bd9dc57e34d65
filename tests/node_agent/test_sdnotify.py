"""systemd's notify protocol against a fake notify socket: a bound AF_UNIX datagram socket.

The agent-level tests run a real NodeAgent (no broker: the smallest setup that shows the fault)
in a thread and read what it tells "systemd".
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from node_agent.agent import NodeAgent
from node_agent.config import NodeConfig, RelayConfig, SinkConfig
from node_agent.relay import RecordingRelay
from node_agent.sdnotify import Notifier, socket_address, watchdog_interval_s
from node_agent.sinks import WavFileSink
from protocol import mqtt_client
from protocol.signing import public_key_b64
from tests.support.keys import KEY
from tests.support.systemd import FakeSystemd

WATCHDOG_USEC = 200_000  # the agent feeds every 0.1 s


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(tmp_path / "notify")
    yield fake
    fake.sock.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the protocol ---------------------------------------------------------------------------


def test_notify_socket_addresses():
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@abstract/name") == "\0abstract/name"
    assert socket_address("") is None
    assert socket_address(None) is None
    assert socket_address("relative/path") is None


def test_the_watchdog_interval_is_half_of_watchdog_usec_and_only_for_its_pid():
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}, 42) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, 42) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, 42) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}, 42) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "soon"}, 42) is None
    assert watchdog_interval_s({}, 42) is None


def test_ready_status_feed_and_stopping_reach_the_socket(systemd):
    clock = Clock()
    notifier = Notifier(systemd.env(WATCHDOG_USEC="30000000"), clock=clock)
    notifier.ready("Trực tuyến / online")
    assert systemd.next() == {"READY": "1", "STATUS": "Trực tuyến / online"}

    notifier.feed()  # READY was the first sign of life: not yet half an interval later
    clock.now += 14.9
    notifier.feed()
    assert systemd.drain() == []
    clock.now += 0.1
    notifier.feed()
    notifier.feed()  # once per half interval, however often the loop turns
    assert systemd.drain() == [{"WATCHDOG": "1"}]

    notifier.status("Trực tuyến / online")  # unchanged: not sent again
    notifier.status("Mất kết nối\n/ offline")
    assert systemd.drain() == [{"STATUS": "Mất kết nối / offline"}]

    notifier.stopping("Đang dừng / stopping")
    assert systemd.next() == {"STOPPING": "1", "STATUS": "Đang dừng / stopping"}


def test_an_abstract_notify_socket_is_reached(tmp_path):
    name = f"loa-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        Notifier({"NOTIFY_SOCKET": "@" + name}).ready("ok")
        sock.settimeout(10)
        assert sock.recv(100) == b"READY=1\nSTATUS=ok"


def test_without_notify_socket_nothing_is_sent_and_nothing_fails():
    notifier = Notifier({"WATCHDOG_USEC": "1000000"})
    assert not notifier.enabled
    assert notifier.feed_every_s is None
    assert notifier.send("READY=1") is False
    notifier.ready("x")
    notifier.feed()
    notifier.stopping("y")


def test_a_notify_socket_that_went_away_is_logged_not_raised(tmp_path, caplog):
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.send("READY=1") is False
    assert "could not notify systemd" in caplog.text


def test_a_watchdog_meant_for_another_process_is_not_fed(systemd):
    notifier = Notifier(systemd.env(WATCHDOG_USEC="1000", WATCHDOG_PID=str(os.getpid() + 1)))
    notifier.feed()
    assert systemd.drain() == []


# --- the agent ------------------------------------------------------------------------------


def _config(tmp_path: Path) -> NodeConfig:
    from controller.nodes import broker  # a free port: the broker is down, as on a cut link

    return NodeConfig(
        node_id="loa-watchdog",
        broker_password="unused",
        broker_port=broker.free_port(),
        controller_public_key=public_key_b64(KEY),
        data_dir=tmp_path / "node",
        sink=SinkConfig(kind="wav"),
        relay=RelayConfig(kind="recording"),
        min_free_bytes=0,
    )


@pytest.fixture
def running(tmp_path, systemd) -> Iterator[tuple[NodeAgent, threading.Thread]]:
    agent = NodeAgent(
        _config(tmp_path),
        sink=WavFileSink(tmp_path / "played"),
        relay=RecordingRelay(),
        notifier=Notifier(systemd.env(WATCHDOG_USEC=str(WATCHDOG_USEC))),
    )
    worker = threading.Thread(target=agent.run, name="agent-under-test")
    yield agent, worker
    agent.stopping.set()
    if worker.is_alive():
        worker.join(30)


def test_the_agent_says_ready_keeps_feeding_and_says_stopping(running, systemd):
    agent, worker = running
    worker.start()
    ready = systemd.until("READY")
    # no broker: ready all the same, since the stored programme plays without one
    assert "offline" in ready["STATUS"]
    assert "the stored programme still plays" in ready["STATUS"]
    for _ in range(3):
        systemd.until("WATCHDOG")
    agent.stopping.set()
    worker.join(30)
    assert "STOPPING" in systemd.until("STOPPING")


def test_an_agent_whose_loop_is_stuck_stops_feeding_and_feeds_again_when_it_turns(running, systemd):
    agent, worker = running
    entered, release = threading.Event(), threading.Event()

    def stuck(_topic: str, _payload: bytes) -> None:
        entered.set()
        release.wait(60)

    agent._on_message = stuck
    worker.start()
    systemd.until("WATCHDOG")
    agent.inbox.put(mqtt_client.Incoming("loa/v1/node/loa-watchdog/cmd", b"{}", False, 0.0))
    assert entered.wait(10)
    systemd.drain()  # whatever was sent before the loop hung
    assert systemd.silent_for(10 * WATCHDOG_USEC / 1e6), "a stuck loop kept feeding"
    release.set()
    systemd.until("WATCHDOG")


def test_an_agent_whose_player_died_stops_feeding(running, systemd):
    agent, worker = running
    # a player thread that ends at once, as one that died of an exception would
    agent.player._thread = threading.Thread(target=lambda: None)
    worker.start()
    assert "READY" in systemd.until("READY")
    assert systemd.silent_for(10 * WATCHDOG_USEC / 1e6), "a node that cannot play kept feeding"


# --- the unit's state directory -------------------------------------------------------------


def test_the_units_state_directory_is_the_data_dir_under_systemd(tmp_path):
    config = _config(tmp_path)
    moved = config.under_systemd({"STATE_DIRECTORY": "/var/lib/loalang:/var/lib/other"})
    assert moved.data_dir == Path("/var/lib/loalang")
    assert moved.broker_password == config.broker_password
    assert config.under_systemd({}) is config  # a terminal, a test, the demo: as configured
    assert config.under_systemd({"STATE_DIRECTORY": str(config.data_dir)}) is config


def test_the_status_line_says_why_the_broker_refused_the_node(running):
    agent, _ = running
    assert agent._status_line().startswith("Mất kết nối / offline: broker 127.0.0.1:")
    agent._handle(mqtt_client.ConnectFailed("Not authorized"))
    assert "refused us (Not authorized)" in agent._status_line()
    agent._handle(mqtt_client.Disconnected("connection lost"))
    assert "refused" not in agent._status_line()
    assert "(không mã hoá / no TLS)" in agent._status_line()
