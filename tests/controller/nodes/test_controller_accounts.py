"""The controller's two broker accounts: one sends, one only reads what the nodes send
(controller/delivery/dispatcher.py). Set-up makes both, and adds the reading one to a data
directory made before there were two."""

from __future__ import annotations

import base64
import queue
import subprocess
import sys

from controller.nodes import bootstrap, broker
from protocol import mqtt_client
from tests.support import wait_for


def test_setup_makes_the_sending_and_the_reading_account(tmp_path):
    config = bootstrap.setup(tmp_path / "ctl", commune_name="Xã Thử")
    files = broker.BrokerFiles(config.broker_dir)
    reader = broker.reader_user(config.mqtt_user)
    assert {config.mqtt_user, reader} <= set(broker.users(files))
    acl = files.acl_file.read_text().split("\n\n")
    reading = next(block for block in acl if block.startswith(f"user {reader}\n"))
    assert reading.splitlines()[1:] == [
        "topic read loa/v1/node/+/state",
        "topic read loa/v1/node/+/events",
        "topic read loa/v1/node/+/content/req",
    ]


def test_setup_again_adds_the_reading_account_to_an_older_data_directory(tmp_path):
    data = tmp_path / "ctl"
    config = bootstrap.setup(data, commune_name="Xã Thử")
    files = broker.BrokerFiles(config.broker_dir)
    reader = broker.reader_user(config.mqtt_user)
    before = files.password_file.read_text().splitlines()
    files.password_file.write_text(
        "".join(f"{line}\n" for line in before if not line.startswith(f"{reader}:"))
    )
    assert reader not in broker.users(files)

    again = bootstrap.setup(data)
    assert again.mqtt_password == config.mqtt_password  # the sending account's is kept
    lines = dict(ln.split(":", 1) for ln in files.password_file.read_text().splitlines())
    salt = base64.b64decode(lines[reader].split("$")[3])
    assert lines[reader] == broker.hash_password(config.mqtt_password, salt=salt)


def test_the_broker_started_on_an_older_data_directory_lets_the_reading_account_in(tmp_path):
    """An upgrade runs no set-up: `loa broker` (the broker's unit) adds the missing account
    and its ACL before Mosquitto starts, so the upgraded controller hears its nodes."""
    config = bootstrap.setup(tmp_path / "ctl", commune_name="Xã Thử", mqtt_port=broker.free_port())
    files = broker.BrokerFiles(config.broker_dir)
    reader = broker.reader_user(config.mqtt_user)
    older = [
        ln for ln in files.password_file.read_text().splitlines() if ln.split(":")[0] != reader
    ]
    files.password_file.write_text("\n".join(older) + "\n")
    acl = files.acl_file.read_text()
    files.acl_file.write_text(acl[: acl.index(f"user {reader}")])
    assert bootstrap.lacks_broker_accounts(config)

    proc = subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "broker", "--data", str(tmp_path / "ctl")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: broker.accepts(config.mqtt_port), 20, "the broker listening")
        got: queue.Queue[mqtt_client.Link] = queue.Queue()
        session = mqtt_client.Session(
            reader, reader, config.mqtt_password, "127.0.0.1", config.mqtt_port, (), 0
        )
        client = mqtt_client.make_client(session, got.put)
        mqtt_client.start(client, session)
        try:
            assert got.get(timeout=10) == mqtt_client.Connected()
        finally:
            client.disconnect()
            client.loop_stop()
    finally:
        proc.terminate()
        proc.wait(10)
        assert proc.stderr is not None
        proc.stderr.close()
    assert f"user {reader}\ntopic read" in files.acl_file.read_text()
