"""`loa node add`: a node id, broker credentials, ACL, and a config pinning the controller key."""

from __future__ import annotations

import json
import subprocess
import time

from controller.db import Database
from controller.models import Node
from controller.nodes import bootstrap, broker
from controller.nodes.keys import load_or_create_key
from protocol.signing import public_key_b64
from tests.support.provisioning import connect_rc, loa


def test_node_add_provisions_a_node_that_a_running_broker_accepts(tmp_path):
    data = tmp_path / "ctl"
    port = broker.free_port()
    assert (
        loa("init", "--data", str(data), "--commune", "Xã Thử", "--mqtt-port", str(port)).returncode
        == 0
    )
    assert (
        loa("zone", "add", "--data", str(data), "--code", "thon-1", "--name", "Thôn 1").returncode
        == 0
    )
    config = bootstrap.load_config(data)
    files = broker.BrokerFiles(config.broker_dir)
    proc = broker.start_broker(files, port)
    try:
        out = tmp_path / "node.json"
        made = loa(
            "node",
            "add",
            "--data",
            str(data),
            "--name",
            "Loa cổng chợ",
            "--zone",
            "thon-1",
            "--lat",
            "21.03",
            "--lon",
            "105.85",
            "--out",
            str(out),
            "--accepts-tests",
        )
        assert made.returncode == 0, made.stderr
        assert "broker reloaded" in made.stdout
        node = json.loads(out.read_text())
        assert node["node_id"].startswith("loa-cong-cho-")
        assert node["controller_public_key"] == public_key_b64(load_or_create_key(config.key_file))
        assert node["node_id"] in broker.users(files)
        acl = files.acl_file.read_text()
        assert f"topic read loa/v1/node/{node['node_id']}/cmd" in acl
        assert f"topic write loa/v1/node/{node['node_id']}/events" in acl
        time.sleep(0.5)  # SIGHUP is asynchronous
        assert connect_rc(port, node["node_id"], node["broker_password"]) == 0
        assert connect_rc(port, node["node_id"], "wrong password") != 0
        db = Database(config.db_url)
        with db.session() as session:
            row = session.get(Node, node["node_id"])
            assert row is not None
            assert row.accepts_tests  # plays CAP Test/Exercise messages
            assert (row.latitude, row.longitude) == (21.03, 105.85)
        db.engine.dispose()
    finally:
        broker.stop_broker(proc)


def test_node_add_with_bad_input_changes_nothing(tmp_path):
    data = tmp_path / "ctl"
    assert loa("init", "--data", str(data), "--commune", "Xã Thử").returncode == 0
    config = bootstrap.load_config(data)
    before = (
        broker.BrokerFiles(config.broker_dir).password_file.read_text(),
        broker.BrokerFiles(config.broker_dir).acl_file.read_text(),
    )
    for args, message in [
        (("--name", "Loa 1", "--zone", "khong-co"), "unknown zone"),
        (("--name", "  ", "--zone", "khong-co"), "needs a name"),
    ]:
        result = loa("node", "add", "--data", str(data), *args)
        assert result.returncode == 2
        assert message in result.stderr
    assert loa("zone", "add", "--data", str(data), "--code", "t", "--name", "T").returncode == 0
    bad = loa("node", "add", "--data", str(data), "--name", "Loa", "--zone", "t", "--lat", "91")
    assert bad.returncode == 2
    assert "latitude" in bad.stderr
    after = (
        broker.BrokerFiles(config.broker_dir).password_file.read_text(),
        broker.BrokerFiles(config.broker_dir).acl_file.read_text(),
    )
    assert after == before
    db = Database(config.db_url)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM nodes").scalar() == 0
    db.engine.dispose()
    missing = loa("node", "add", "--data", str(tmp_path / "nowhere"), "--name", "x", "--zone", "t")
    assert missing.returncode != 0
    assert "not a Loa Làng data directory" in missing.stderr


def test_user_add_stores_an_argon2_hash_and_refuses_bad_accounts(tmp_path):
    from controller.auth import check_password
    from controller.models import User

    data = tmp_path / "ctl"
    assert loa("init", "--data", str(data), "--commune", "Xã Thử").returncode == 0

    def add(username: str, password: str) -> subprocess.CompletedProcess[str]:
        return loa(
            *("user", "add", "--data", str(data), "--role", "broadcaster"),
            *("--username", username, "--password", password),
            production_cost=True,
        )

    ok = add("lan", "mat-khau-dai")
    assert ok.returncode == 0, ok.stderr
    for (username, password), message in [
        (("hoa", "ngan"), "at least 8 characters"),
        (("lan", "mat-khau-khac"), "already exists"),
    ]:
        bad = add(username, password)
        assert bad.returncode == 2
        assert message in bad.stderr
    db = Database(bootstrap.load_config(data).db_url)
    with db.session() as s:
        users = s.query(User).all()
        assert [u.username for u in users] == ["lan"]
        # at the real cost, not the suite's (tests/controller/test_auth_cost.py)
        assert users[0].password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert check_password("mat-khau-dai", users[0].password_hash)
        assert not check_password("mat-khau-khac", users[0].password_hash)
    db.engine.dispose()
