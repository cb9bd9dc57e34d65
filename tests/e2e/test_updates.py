"""Updates end to end: a point runs a release from its own virtualenv under the start wrapper,
is told by a signed command to run the next one, fetches the wheel through the broker, installs
it beside the old one, switches and comes back on the new version; a release that fails at
start is rolled back by itself; a wheel that is not what the controller signed is refused.

Everything is real: Mosquitto, the controller, `loa release` on the command line, virtualenvs
made by pip from wheels of this tree, the wrapper and agents as processes.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from node_agent import release_start
from protocol.releases import sign_release
from protocol.signing import new_private_key
from tests.support import SystemUnderTest, node_events, wait_for
from tests.support.updates import AGENT, BROKEN_AGENT, loa, node_row, outcome
from tests.support.wheels import build_wheel, clean_env, release_venv


@pytest.fixture
def point(system_factory, tmp_path: Path) -> Iterator[tuple[SystemUnderTest, str, Path]]:
    """A controller and one point running release 0.1.0 from /opt/loalang-like ``root``."""
    sut = system_factory(nodes=1)
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    node = sut.node_ids[0]
    root = tmp_path / "opt-loalang"
    root.mkdir()
    release_venv(root, build_wheel(tmp_path / "wheels", "0.1.0"), "0.1.0")
    sut.set_node_config(node, install_root=str(root), update_confirm_s=30)
    log = (tmp_path / "wrapper.log").open("wb")
    wrapper = subprocess.Popen(
        [
            sys.executable,
            release_start.__file__,
            "--root",
            str(root),
            "--config",
            str(sut.cluster.node_configs[node]),
        ],
        env=clean_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: node_row(sut, node)["agent_version"] == "0.1.0", 60, "0.1.0 online")
        yield sut, node, root
    finally:
        wrapper.terminate()
        wrapper.wait(30)
        log.close()
        text = (tmp_path / "wrapper.log").read_text(errors="replace")
        print(f"--- wrapper and agents ---\n{text[-6000:]}")


def test_a_point_updates_and_rolls_back_a_release_that_cannot_start(point, tmp_path):
    sut, node, root = point
    good = build_wheel(tmp_path / "wheels", "0.2.0")
    loa(sut, "release", "add", str(good), "--user", "admin")
    assert "1 of 1 points told" in loa(
        sut, "release", "rollout", "0.2.0", "--all", "--user", "admin"
    )

    assert outcome(sut, node, "0.2.0", "updated") == ""
    # The agent reporting 0.2.0 reads it from the loalang it imported: the new virtualenv's.
    assert node_row(sut, node)["agent_version"] == "0.2.0"
    assert os.readlink(root / "current") == "releases/0.2.0"
    assert (root / "releases" / "0.1.0").is_dir()  # kept: what a rollback goes back to
    [event] = node_events(sut, node, "update")
    assert (event["outcome"], event["version"], event["from_version"]) == (
        "updated",
        "0.2.0",
        "0.1.0",
    )

    broken = build_wheel(tmp_path / "wheels", "0.3.0", replace={AGENT.as_posix(): BROKEN_AGENT})
    loa(sut, "release", "add", str(broken), "--user", "admin")
    loa(sut, "release", "rollout", "0.3.0", "--node", node, "--user", "admin")

    reason = outcome(sut, node, "0.3.0", "rolled_back")
    assert reason == "0.3.0 exited with code 2 before coming online"  # loa: RuntimeError
    wait_for(lambda: node_row(sut, node)["status"] == "online", 60, "the point back online")
    assert node_row(sut, node)["agent_version"] == "0.2.0"
    assert os.readlink(root / "current") == "releases/0.2.0"
    assert "rollout of 0.3.0" not in loa(sut, "release", "status")
    assert "0.3.0: 0/1 on it, 0 pending, 1 failed or rolled back" in loa(sut, "release", "status")


def test_a_release_not_signed_by_the_controller_or_not_as_signed_is_refused(point, tmp_path):
    sut, node, root = point
    db = sut.cluster.config.data_dir / "loalang.sqlite3"

    # A release whose signature is another key's: refused when the command arrives.
    forged = build_wheel(tmp_path / "wheels", "0.2.0")
    loa(sut, "release", "add", str(forged), "--user", "admin")
    with sqlite3.connect(db) as conn:
        sha, size = conn.execute("SELECT sha256, size FROM releases").fetchone()
        stranger = sign_release(new_private_key(), "0.2.0", forged.name, sha, size)
        conn.execute("UPDATE releases SET signature=?", (stranger.signature,))
    loa(sut, "release", "rollout", "0.2.0", "--all", "--user", "admin")
    assert "bad signature" in outcome(sut, node, "0.2.0", "failed")

    # A wheel whose bytes changed after signing: fetched, its sha256 fails, nothing installed.
    altered = build_wheel(tmp_path / "wheels", "0.2.1")
    loa(sut, "release", "add", str(altered), "--user", "admin")
    with sqlite3.connect(db) as conn:
        [(sha,)] = conn.execute("SELECT sha256 FROM releases WHERE version='0.2.1'").fetchall()
    stored = sut.cluster.config.release_dir / f"{sha}.whl"
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    loa(sut, "release", "rollout", "0.2.1", "--all", "--user", "admin")
    assert "does not match sha256" in outcome(sut, node, "0.2.1", "failed")

    assert sorted(p.name for p in (root / "releases").iterdir()) == ["0.1.0"]
    assert os.readlink(root / "current") == "releases/0.1.0"
    assert node_row(sut, node)["agent_version"] == "0.1.0"
