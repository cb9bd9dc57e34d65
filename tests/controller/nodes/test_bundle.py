"""`loa node provision`: the bundle on disk, its label, and re-provisioning a replaced Pi
(real `loa` subprocesses, real SQLite, a real Mosquitto with the project's config)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image

from controller.config import ControllerConfig
from controller.db import Database
from controller.models import Node
from controller.nodes import broker, bundle, web_tls
from controller.nodes.keys import load_or_create_key
from node_agent.config import NodeConfig
from tests.support import wait_for
from tests.support.provisioning import commune, connect_rc, loa


def provision(data: Path, *args: str) -> str:
    """Run `loa node provision`; the point's id it printed."""
    done = loa("node", "provision", "--data", str(data), *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[1].rstrip(":")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_points_bundle_holds_its_config_keys_and_a_label_that_opens_its_page(tmp_path):
    config = commune(tmp_path / "ctl", public_url="https://loa.xa-thu.vn/")
    out = tmp_path / "bundle"
    node_id = provision(
        config.data_dir, "--name", "Loa cổng chợ Đình", "--zone", "thon-dong", "--out", str(out)
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "ca.crt",
        "controller.pub",
        "label.png",
        "node.json",
    ]
    assert mode(out) == 0o700
    assert all(mode(p) == 0o600 for p in out.iterdir())
    node = NodeConfig.load(out / "node.json")
    assert node.node_id == node_id
    assert node.data_dir == Path("/var/lib/loalang")  # where the Pi keeps it, not the controller
    assert (node.broker_host, node.broker_port, node.broker_tls) == (
        "localhost",
        config.mqtt_tls_port,
        True,
    )
    assert (
        node.broker_ca_pem
        == (out / "ca.crt").read_text()
        == config.broker_tls_dir.joinpath("ca.crt").read_text()
    )
    public = serialization.load_pem_public_key((out / "controller.pub").read_bytes())
    assert public == load_or_create_key(config.key_file).public_key()
    assert node_id in broker.users(broker.BrokerFiles(config.broker_dir))
    found = zxingcpp.read_barcodes(Image.open(out / "label.png"))
    assert [r.text for r in found] == [f"https://loa.xa-thu.vn/nodes/{node_id}"]


def test_provisioning_a_replaced_pi_cuts_the_old_card_off_and_lets_the_new_one_in(tmp_path):
    config = commune(tmp_path / "ctl")
    files = broker.BrokerFiles(config.broker_dir)
    proc = broker.start_broker(files, config.mqtt_port)
    try:
        first = tmp_path / "first"
        node_id = provision(
            config.data_dir, "--name", "Loa 1", "--zone", "thon-dong", "--out", str(first)
        )
        old = NodeConfig.load(first / "node.json").broker_password
        wait_for(lambda: connect_rc(config.mqtt_port, node_id, old) == 0, 10, "the first Pi")
        # the old Pi is still connected when it is replaced (stolen, or dying slowly)
        events: list[str] = []
        card = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=node_id, protocol=mqtt.MQTTv5)
        card.username_pw_set(node_id, old)
        card.on_connect = lambda _c, _u, _f, rc, _p: events.append(f"connect {rc.value}")
        card.on_disconnect = lambda *_a: events.append("disconnect")
        card.connect("127.0.0.1", config.mqtt_port)
        card.loop_start()
        try:
            wait_for(lambda: "connect 0" in events, 5, "the old card to connect")
            second = tmp_path / "second"
            # a reprinted label changes nothing: the old card stays in
            reprint = tmp_path / "reprint.png"
            assert provision(config.data_dir, node_id, "--label", str(reprint)) == node_id
            found = zxingcpp.read_barcodes(Image.open(reprint))
            assert [r.text for r in found] == [bundle.point_url(config, node_id)]
            assert connect_rc(config.mqtt_port, node_id, old) == 0
            assert provision(config.data_dir, node_id, "--out", str(second)) == node_id
            wait_for(lambda: "disconnect" in events, 10, "the broker to cut the old card off")
        finally:
            card.loop_stop()
            card.disconnect()
        new = NodeConfig.load(second / "node.json").broker_password
        assert new != old
        assert connect_rc(config.mqtt_port, node_id, old) != 0
        assert connect_rc(config.mqtt_port, node_id, new) == 0
        passwd = files.password_file.read_text()
        assert passwd.count(f"{node_id}:") == 1  # replaced, not added beside
        assert f"user {node_id}" in files.acl_file.read_text()
    finally:
        broker.stop_broker(proc)


def test_bad_provisioning_input_is_refused_and_changes_nothing(tmp_path):
    config = commune(tmp_path / "ctl", https=False)
    files = broker.BrokerFiles(config.broker_dir)
    out = tmp_path / "bundle"
    node_id = provision(
        config.data_dir, "--name", "Loa 1", "--zone", "thon-dong", "--out", str(out)
    )
    before = (files.password_file.read_text(), files.acl_file.read_text())
    label = (out / "label.png").read_bytes()
    data = str(config.data_dir)
    a_file, elsewhere = tmp_path / "notes.txt", tmp_path / "home"
    a_file.write_text("x")
    elsewhere.mkdir()
    (elsewhere / "photo.jpg").write_bytes(b"x")
    elsewhere.chmod(0o755)
    elsewhere_mode = mode(elsewhere)
    cases = [
        ((node_id, "--out", str(a_file)), "is a file"),
        (("--name", "Loa 2", "--zone", "thon-dong", "--out", str(elsewhere)), "other files"),
        ((node_id,), "--out DIR"),
        (("khong-co-9999", "--out", str(out)), "unknown node"),
        ((node_id, "--name", "X", "--out", str(out)), "either NODE_ID"),
        (("--name", "Loa 2", "--out", str(out)), "both --name and --zone"),
        (("--name", "Loa 2", "--zone", "khong-co", "--out", str(out)), "unknown zone"),
        (("--name", "Loa " * 60, "--zone", "thon-dong", "--out", str(out)), "does not fit"),
        ((node_id, "--enrol"), "HTTPS"),
    ]
    for args, message in cases:
        refused = loa("node", "provision", "--data", data, *args)
        assert refused.returncode == 2, (args, refused.stdout)
        assert message in refused.stderr, (args, refused.stderr)
    assert (files.password_file.read_text(), files.acl_file.read_text()) == before
    assert (out / "label.png").read_bytes() == label
    assert mode(elsewhere) == elsewhere_mode  # not made private: it is not ours
    assert sorted(p.name for p in elsewhere.iterdir()) == ["photo.jpg"]
    db = Database(config.db_url)
    with db.session() as s:
        assert [n.id for n in s.query(Node)] == [node_id]
    db.engine.dispose()


def test_the_label_shows_the_fingerprint_of_the_certificate_the_web_app_is_served_with(tmp_path):
    config = commune(tmp_path / "ctl")
    node_id = provision(
        config.data_dir, "--name", "Loa 1", "--zone", "thon-dong", "--out", str(tmp_path / "b")
    )
    assert config.http_tls_files is not None
    fingerprint = web_tls.fingerprint(config.http_tls_files[0].read_bytes())
    facts = bundle.facts(config, node_id)
    assert facts.fingerprint is not None
    assert facts.fingerprint.replace(" ", "") == fingerprint
    assert (facts.point_name, facts.zone_name, facts.commune) == ("Loa 1", "Thôn Đông", "Xã Thử")
    assert facts.url == f"https://127.0.0.1:{config.http_port}/nodes/{node_id}"
    saved = json.loads((config.data_dir / "controller.json").read_text())
    assert saved["http_tls_files"] == [str(p) for p in config.http_tls_files]


def test_init_makes_the_web_apps_certificate_for_its_hosts(tmp_path):
    data = tmp_path / "ctl"
    done = loa(
        *("init", "--data", str(data), "--commune", "Xã Thử"),
        *("--https-host", "loa.xa-thu.vn", "--https-host", "192.0.2.7"),
    )
    assert done.returncode == 0, done.stderr
    saved = json.loads((data / "controller.json").read_text())
    cert_file, key_file = (Path(p) for p in saved["http_tls_files"])
    assert mode(cert_file) == mode(key_file) == 0o600
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["loa.xa-thu.vn"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["192.0.2.7"]
    # run again: the same certificate, so the labels already printed stay right
    again = loa("init", "--data", str(data), "--commune", "Xã Thử", "--https-host", "other")
    assert again.returncode == 0, again.stderr
    assert x509.load_pem_x509_certificate(cert_file.read_bytes()) == cert


def test_the_public_url_is_checked_and_taken_from_the_environment(tmp_path):
    config = ControllerConfig.load(None, {"LOA_PUBLIC_URL": "https://loa.xa-thu.vn/"})
    assert config.web_url == "https://loa.xa-thu.vn"
    assert ControllerConfig.load(None, {}).web_url == "http://127.0.0.1:8080"
    with pytest.raises(SystemExit, match=r"LOA_PUBLIC_URL \(environment\): must start with"):
        ControllerConfig.load(None, {"LOA_PUBLIC_URL": "loa.xa-thu.vn"})
