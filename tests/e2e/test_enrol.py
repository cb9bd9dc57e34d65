"""`loa node provision --enrol` → `loa node enrol` against a running controller served over
HTTPS on 127.0.0.1 and a real broker with TLS: the enrolled Pi plays; the code works once and
in time; a wrong fingerprint sends and writes nothing; a replaced Pi's password is refused."""

from __future__ import annotations

import json
import os
import pwd
import re
import sqlite3
import stat
from pathlib import Path

from controller.nodes import broker, web_tls
from tests.support import FAST_NODE, SystemUnderTest, all_online, wait_for
from tests.support.provisioning import connect_rc, loa


def issue(sut: SystemUnderTest, *args: str) -> tuple[str, str, str]:
    """`loa node provision ... --enrol`: (node id, code, fingerprint) as it printed them."""
    done = loa("node", "provision", "--data", str(sut.cluster.config.data_dir), "--enrol", *args)
    assert done.returncode == 0, done.stderr
    found = re.search(r"point (\S+): one-time enrolment code (\S+)", done.stdout)
    pin = re.search(r"--fingerprint (\S+)", done.stdout)
    assert found, done.stdout
    assert pin, done.stdout
    assert f"loa node enrol {sut.cluster.url} " in done.stdout
    return found[1], found[2], pin[1]


def enrol(sut: SystemUnderTest, code: str, pin: str, root: Path, *owner: str):
    return loa(
        *("node", "enrol", sut.cluster.url, code, "--fingerprint", pin),
        *("--dir", str(root / "etc"), "--data-dir", str(root / "var"), *owner),
    )


def test_a_pi_enrols_over_pinned_https_and_plays(system_factory, speech_wav, tmp_path):
    cert, key = web_tls.make_certificate(tmp_path / "https", ["127.0.0.1"])
    sut = system_factory(
        nodes=0,
        mqtt_tls_port=broker.free_port(),
        mqtt_tls_hosts=["localhost"],
        http_tls_files=(cert, key),
    )
    sut.cluster.start_all()
    assert sut.cluster.url.startswith("https://127.0.0.1:")
    node_id, code, pin = issue(
        sut, "--name", "Loa chợ Đình", "--zone", "thon-dong", "--sink", "wav"
    )
    assert pin == web_tls.fingerprint(cert.read_bytes())

    # a controller that is not the one on the label: nothing is sent, nothing written
    wrong = enrol(sut, code, "AB" * 32, tmp_path / "pi-wrong")
    assert wrong.returncode == 2
    assert "does not match the fingerprint" in wrong.stderr
    assert not (tmp_path / "pi-wrong").exists()

    owner = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    pi = tmp_path / "pi"
    done = enrol(sut, code, pin.lower(), pi, "--owner", owner.pw_name)
    assert done.returncode == 0, done.stderr
    assert f"enrolled as {node_id}" in done.stdout
    config_file = pi / "etc" / "node.json"
    for path in (config_file, pi / "etc" / "ca.crt", pi / "etc" / "controller.pub"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert path.stat().st_uid == owner.pw_uid, path
    node = json.loads(config_file.read_text())
    assert node["data_dir"] == str(pi / "var")
    old_password = node["broker_password"]

    node.update(FAST_NODE)
    config_file.write_text(json.dumps(node))
    sut.cluster.node_configs[node_id] = config_file
    sut.cluster.start_node(node_id)
    wait_for(lambda: all_online(sut), 30, "the enrolled Pi to come online")
    bid = sut.post_bulletin(speech_wav, title="Sau khi đăng ký", all="true").json()["id"]
    report = wait_for(
        lambda: (r := sut.report(bid))["summary"]["completed"] == 1 and r, 60, "the Pi to play"
    )
    assert report["summary"]["played"] == 1
    wait_for((pi / "var" / "played" / f"{bid}.wav").exists, 10, "the played file")

    # the code is spent: a second Pi with it gets nothing
    before = config_file.read_bytes()
    again = enrol(sut, code, pin, tmp_path / "pi-again")
    assert again.returncode == 2
    assert "already used" in again.stderr
    assert not (tmp_path / "pi-again").exists()
    assert config_file.read_bytes() == before

    # a code past its 24 hours is refused
    _, late, _ = issue(sut, node_id)
    db = sqlite3.connect(sut.cluster.config.data_dir / "loalang.sqlite3")
    with db:
        db.execute(
            "UPDATE enrolment_codes SET expires_at = '2000-01-01 00:00:00' WHERE used_at IS NULL"
        )
    db.close()
    expired = enrol(sut, late, pin, tmp_path / "pi-late")
    assert expired.returncode == 2
    assert "expired" in expired.stderr
    assert not (tmp_path / "pi-late").exists()
    assert connect_rc(sut.cluster.config.mqtt_port, node_id, old_password) == 0  # untouched

    # the Pi dies and a new one enrols: the old card's password is refused by the broker
    _, fresh, _ = issue(sut, node_id)
    assert enrol(sut, fresh, pin, tmp_path / "pi-new").returncode == 0
    new_password = json.loads((tmp_path / "pi-new" / "etc" / "node.json").read_text())[
        "broker_password"
    ]
    port = sut.cluster.config.mqtt_port
    wait_for(lambda: connect_rc(port, node_id, old_password) != 0, 10, "the old card refused")
    assert connect_rc(port, node_id, new_password) == 0
