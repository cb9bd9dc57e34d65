"""A point laid out by deploy/node/install.sh and started as its unit starts it takes a signed
update and rolls a broken one back by itself: the installer's layout is the updater's, and the
unit's user may install releases there. Real broker, controller, installer, wrapper and agents.
"""

from __future__ import annotations

import os

import pytest

from tests.deploy.installed import install_point, run_unit
from tests.support import wait_for
from tests.support.updates import AGENT, BROKEN_AGENT, loa, node_row, outcome
from tests.support.wheels import build_wheel

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the installer and the switch to the unit's user need root"
)


def test_an_installed_point_updates_and_rolls_a_broken_release_back(system_factory, open_dir):
    sut = system_factory(nodes=1)
    node = sut.node_ids[0]
    sut.set_node_config(node, update_confirm_s=30)
    config = sut.node_config(node)
    assert config.get("install_root") is None  # the bundle names none: the wrapper says where
    wheels = open_dir / "wheels"
    pi = install_point(
        open_dir, build_wheel(wheels, "0.1.0"), sut.cluster.node_configs[node].read_text()
    )
    opt = pi.root / "opt/loalang"
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    log = open_dir / "agent.log"
    with run_unit(pi, log, notify=False) as unit:
        wait_for(lambda: node_row(sut, node)["agent_version"] == "0.1.0", 60, "0.1.0 online")

        loa(sut, "release", "add", str(build_wheel(wheels, "0.2.0")), "--user", "admin")
        loa(sut, "release", "rollout", "0.2.0", "--all", "--user", "admin")
        assert outcome(sut, node, "0.2.0", "updated") == "", log.read_text()[-3000:]
        assert node_row(sut, node)["agent_version"] == "0.2.0"
        assert os.readlink(opt / "current") == "releases/0.2.0"
        # installed by the agent itself, as the unit's user, beside the installer's release
        for made in ("releases/0.2.0", "releases/0.2.0/bin/loa"):
            assert (opt / made).stat().st_uid == unit.uid
        assert (opt / "releases/0.1.0/bin/loa").exists()

        broken = build_wheel(wheels, "0.3.0", replace={AGENT.as_posix(): BROKEN_AGENT})
        loa(sut, "release", "add", str(broken), "--user", "admin")
        loa(sut, "release", "rollout", "0.3.0", "--node", node, "--user", "admin")
        reason = outcome(sut, node, "0.3.0", "rolled_back")
        assert reason == "0.3.0 exited with code 2 before coming online"
        wait_for(lambda: node_row(sut, node)["status"] == "online", 60, "back online")
        assert node_row(sut, node)["agent_version"] == "0.2.0"
        assert os.readlink(opt / "current") == "releases/0.2.0"
        assert unit.process.poll() is None  # the wrapper did it all: no restart by systemd
