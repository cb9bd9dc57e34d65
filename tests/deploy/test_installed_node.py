"""The node as deploy/node/install.sh leaves it: started from the installed unit's ExecStart
(every path under the test's root), as the unit's user and groups, with systemd's environment
(a fake notify socket, the watchdog, the state directory), it connects to the broker over TLS
and plays a bulletin. Real broker, controller and installed agent, as processes.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.nodes import broker
from tests.deploy.node_root import Pi, make_pi
from tests.deploy.test_systemd_units import unit_settings
from tests.support import wait_for
from tests.support.systemd import FakeSystemd

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the installer and the switch to the unit's user need root"
)
WATCHDOG_USEC = 2_000_000


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory the unit's user can reach (pytest's own temp dirs are root's alone)."""
    with tempfile.TemporaryDirectory(prefix="loa-pi-") as name:
        os.chmod(name, 0o711)
        yield Path(name)


def exec_start(pi: Pi) -> list[str]:
    """The installed unit's command line, every absolute path moved under the root."""
    unit = unit_settings(pi.root / "etc/systemd/system/loa-node.service")
    argv = shlex.split(unit["ExecStart"][-1])
    return [str(pi.root / a.lstrip("/")) if a.startswith("/") else a for a in argv]


def online_status(systemd: FakeSystemd) -> str | None:
    line = systemd.until("STATUS", 30)["STATUS"]
    return line if "online" in line else None


def test_the_installed_node_connects_over_tls_and_plays_a_bulletin(
    system_factory, speech_wav, wheel, open_dir
):
    tls_port = broker.free_port()
    sut = system_factory(nodes=1, mqtt_tls_port=tls_port, mqtt_tls_hosts=["localhost"])
    node_id = sut.node_ids[0]
    bundle = open_dir / "bundle"
    bundle.mkdir()
    (bundle / "node.json").write_text(sut.cluster.node_configs[node_id].read_text())
    pi = make_pi(open_dir / "pi", wheel)
    for d in (pi.root, pi.state):
        d.chmod(0o711)
    result = pi.run(str(bundle))
    assert result.returncode == 0, result.stderr + result.stdout

    loa = pi.entry("passwd", "loa")
    groups = [int(pi.entry("group", g)[2]) for g in ("audio", "gpio")]
    systemd = FakeSystemd(pi.state / "notify")
    (pi.state / "notify").chmod(0o666)
    state_dir = pi.root / "var/lib/loalang"
    env = {
        **systemd.env(WATCHDOG_USEC=str(WATCHDOG_USEC)),
        "STATE_DIRECTORY": str(state_dir),
        "PATH": "/usr/bin:/bin",
        "HOME": str(state_dir),
        "PYTHONUNBUFFERED": "1",
        # Only the dependencies: the wheel was installed offline without them. The test's
        # site-packages holds no loalang module of its own (an editable install's finder is
        # a .pth, which PYTHONPATH does not run), so the agent is the installed one.
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
    }
    assert not (Path(env["PYTHONPATH"]) / "node_agent").exists()
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    log = open_dir / "agent.log"
    with log.open("wb") as out:
        agent = subprocess.Popen(
            exec_start(pi),
            env=env,
            cwd=state_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            user=int(loa[2]),
            group=int(loa[3]),
            extra_groups=groups,
        )
    try:
        assert "READY" in systemd.until("READY", 60), log.read_text()
        online = wait_for(lambda: online_status(systemd), 60, "the online status")
        assert f"broker localhost:{tls_port} TLS" in online
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
        assert (state_dir / "node.sqlite3").stat().st_uid == int(loa[2])
        broker_log = (sut.cluster.config.broker_dir / "mosquitto.log").read_text()
        assert f"on port {tls_port}" in broker_log
        systemd.until("WATCHDOG", 30)  # still fed after the work

        agent.send_signal(signal.SIGTERM)
        assert "STOPPING" in systemd.until("STOPPING", 30)
        assert agent.wait(30) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
        systemd.sock.close()
    assert "Traceback" not in log.read_text(), log.read_text()
    assert json.loads((pi.root / "etc/loalang/node.json").read_text())["node_id"] == node_id
