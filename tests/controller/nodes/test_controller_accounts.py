"""The controller's two broker accounts: one sends, one only reads what the nodes send
(controller/delivery/dispatcher.py). Set-up makes both, and adds the reading one to a data
directory made before there were two."""

from __future__ import annotations

import base64

from controller.nodes import bootstrap, broker


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
