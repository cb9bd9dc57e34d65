"""The controller notices when the broker stops delivering to it while still connected, and
reconnects: Mosquitto 2.0.11 could stop sending to the controller's session for good once its
queue for it had overflowed, and every node's report and request was then dropped at the broker
(BENCHMARKS.md, "A point's statements per command"). The stop is made here by taking the probe's
subscription away behind the controller's back: nothing it sends itself comes back."""

from __future__ import annotations

import time

from controller.delivery.dispatcher import PROBE_TOPIC
from tests.controller.delivery.conftest import Live
from tests.support import wait_for


def test_the_controller_reconnects_when_its_probes_stop_coming_back(live: Live) -> None:
    d = live.dispatcher
    d.probe_every_s, d.probe_stall_s = 0.2, 1.5
    before = live.controller_connections()
    d.client.unsubscribe(PROBE_TOPIC)
    wait_for(lambda: d.reconnects == 1, 10, "the dropped connection")
    wait_for(lambda: live.controller_connections() == before + 1, 10, "a new connection")
    assert d.connected.wait(10)
    # subscribed again as it connected: its probes come back, and it stays connected
    time.sleep(3 * d.probe_stall_s)
    assert d.reconnects == 1
    assert live.controller_connections() == before + 1


def test_probes_that_come_back_keep_the_connection(live: Live) -> None:
    d = live.dispatcher
    d.probe_every_s, d.probe_stall_s = 0.2, 1.0
    before = live.controller_connections()
    time.sleep(4.0)
    assert d.reconnects == 0
    assert live.controller_connections() == before
