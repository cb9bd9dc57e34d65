"""The node as deploy/node/install.sh leaves it, started as its unit starts it (through the
start wrapper, as the unit's user): it connects to the broker over TLS, plays a bulletin and
feeds the watchdog systemd meant for the wrapper. Real broker, controller and installed agent,
as processes.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from controller.nodes import broker
from tests.deploy.installed import install_point, run_unit
from tests.support import wait_for
from tests.support.systemd import FakeSystemd

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the installer and the switch to the unit's user need root"
)


def online_status(systemd: FakeSystemd) -> str | None:
    line = systemd.until("STATUS", 30)["STATUS"]
    return line if "online" in line else None


def test_the_installed_node_connects_over_tls_and_plays_a_bulletin(
    system_factory, speech_wav, wheel, open_dir
):
    tls_port = broker.free_port()
    sut = system_factory(nodes=1, mqtt_tls_port=tls_port, mqtt_tls_hosts=["localhost"])
    node_id = sut.node_ids[0]
    pi = install_point(open_dir, wheel, sut.cluster.node_configs[node_id].read_text())
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    log = open_dir / "agent.log"
    with run_unit(pi, log) as unit:
        systemd, state_dir = unit.systemd, unit.state_dir
        assert "READY" in systemd.until("READY", 60), log.read_text()
        online = wait_for(lambda: online_status(systemd), 60, "the online status")
        assert f"broker localhost:{tls_port} TLS" in online
        # fed by the agent, the wrapper's child: WATCHDOG_PID names the wrapper
        systemd.until("WATCHDOG", 30)

        bid = sut.post_bulletin(speech_wav, title="Loa mới lắp", all="true").json()["id"]
        report = wait_for(
            lambda: (r := sut.report(bid))["summary"]["completed"] == 1 and r,
            90,
            "the installed node to play",
        )
        assert report["summary"]["played"] == 1
        # it played into the unit's state directory, not the data_dir of the bundle
        assert (state_dir / "played" / f"{bid}.wav").exists()
        assert (state_dir / "node.sqlite3").stat().st_uid == unit.uid
        broker_log = (sut.cluster.config.broker_dir / "mosquitto.log").read_text()
        assert f"on port {tls_port}" in broker_log
        systemd.until("WATCHDOG", 30)  # still fed after the work

        unit.process.send_signal(signal.SIGTERM)  # to the wrapper, as systemctl stop does
        assert "STOPPING" in systemd.until("STOPPING", 30)
        assert unit.process.wait(30) == 0
    assert "Traceback" not in log.read_text(), log.read_text()
    assert json.loads((pi.root / "etc/loalang/node.json").read_text())["node_id"] == node_id
    assert not Path(pi.root / "opt/loalang/update.json").exists()
