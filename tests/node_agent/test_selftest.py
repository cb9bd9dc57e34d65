"""`loa node selftest` run as a technician runs it: a subprocess with a provisioned node's
config against a real Mosquitto (the project's config, TLS listener) — a WAV file for the sound
card, a recording relay, and a chronyc stand-in printing chrony's real output on the PATH.
The subprocess cannot import the controller's libraries, as on a Pi with only `loalang[node]`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from controller.db import Database
from controller.nodes import bootstrap, broker, broker_tls
from controller.nodes.provision import add_node
from node_agent.config import RelayConfig, SinkConfig
from protocol.topics import node_topic
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]
CHRONY_SYNCED = (
    "A9FEA97B,169.254.169.123,4,1764990000.123456789,-0.000012345,-0.000004321,"
    "0.000021000,-8.123,0.001,0.024,0.000456789,0.000123456,64.2,Normal"
)
CHRONY_UNSYNCED = (
    "00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,"
    "0.000,0.000,0.000,1.000000000,1.000000000,0.0,Not synchronised"
)
# What a Pi with only the node extra lacks: importing any of them fails the self-test.
CONTROLLER_ONLY = ("fastapi", "sqlalchemy", "alembic", "uvicorn", "jinja2", "apscheduler")


@pytest.fixture(scope="module")
def point(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A broker with a TLS listener and one provisioned node; yields the node's config file."""
    root = tmp_path_factory.mktemp("selftest")
    config = bootstrap.setup(
        root / "controller",
        mqtt_port=broker.free_port(),
        mqtt_tls_port=broker.free_port(),
        mqtt_tls_hosts=["localhost"],
    )
    db = Database(config.db_url)
    bootstrap.add_zone(db, "thon-dong", "Thôn Đông")
    db.engine.dispose()
    made = add_node(
        config,
        name="Cổng chợ",
        zone="thon-dong",
        node_data_dir=root / "node",
        config_out=root / "node.json",
        sink=SinkConfig(kind="wav", options={"directory": str(root / "played")}),
        relay=RelayConfig(kind="recording", preroll_s=0, postroll_s=0),
    )
    proc = broker.start_broker(
        broker.BrokerFiles(config.broker_dir), config.mqtt_port, tls=broker_tls.listener(config)
    )
    try:
        yield made.config_path
    finally:
        broker.stop_broker(proc)


def selftest(tmp_path: Path, config: Path, chrony: str = CHRONY_SYNCED) -> tuple[int, str]:
    tools = tmp_path / "bin"
    tools.mkdir(exist_ok=True)
    chronyc = tools / "chronyc"
    chronyc.write_text(f"#!/bin/sh\necho '{chrony}'\n")
    chronyc.chmod(0o755)
    blocked = tmp_path / "blocked"
    blocked.mkdir(exist_ok=True)
    for name in CONTROLLER_ONLY:
        (blocked / f"{name}.py").write_text(f"raise ImportError('{name}: not on a Pi')\n")
    env = dict(
        os.environ,
        PATH=f"{tools}:{os.environ['PATH']}",
        PYTHONPATH=f"{blocked}:{ROOT}",
    )
    done = subprocess.run(
        [sys.executable, "-m", "controller.cli", "node", "selftest", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def variant(point: Path, tmp_path: Path, **changes: object) -> Path:
    data = json.loads(point.read_text())
    data.update(changes)
    path = tmp_path / "node.json"
    path.write_text(json.dumps(data))
    return path


def line(output: str, start: str) -> str:
    found = [ln for ln in output.splitlines() if start in ln]
    assert found, f"no line with {start!r} in:\n{output}"
    return found[0]


def test_a_good_point_passes_every_check(point, tmp_path):
    code, out = selftest(tmp_path, point)
    assert code == 0, out
    assert line(out, "audio output").startswith("✓")
    assert line(out, "amplifier relay").startswith("✓")
    assert "on, then off" in line(out, "amplifier relay")
    assert line(out, "clock (chrony, +0 ms)").startswith("✓")
    assert line(out, "free disk").startswith("✓")
    assert line(out, "(TLS): đăng nhập được / logged in as").startswith("✓")
    assert line(out, "controller key: đã ghim / pinned").startswith("✓")
    assert "✗" not in out
    # the tone really went to the configured output: 1 s of 48 kHz
    played = json.loads(point.read_text())["sink"]["options"]["directory"]
    with wave.open(str(Path(played) / "selftest-tone.wav")) as wav:
        assert wav.getnframes() == 48_000


def test_the_node_side_really_runs_without_the_controllers_libraries(tmp_path):
    """The guard of these tests works: the controller's own modules cannot load here."""
    selftest(tmp_path, tmp_path / "nowhere.json")  # makes the blocked modules
    done = subprocess.run(
        [sys.executable, "-c", "import controller.db"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=f"{tmp_path / 'blocked'}:{ROOT}"),
        check=False,
    )
    assert "not on a Pi" in done.stderr


def test_a_wrong_password_is_refused_and_says_what_to_do(point, tmp_path):
    code, out = selftest(tmp_path, variant(point, tmp_path, broker_password="wrong-password"))
    assert code == 1
    refused = line(out, "broker localhost:")
    assert refused.startswith("✗")
    assert "refused the login" in refused
    assert "get a new bundle or run loa node enrol again" in out
    assert "1 checks failed" in out


def test_an_unreachable_broker_fails(point, tmp_path):
    code, out = selftest(tmp_path, variant(point, tmp_path, broker_port=broker.free_port()))
    assert code == 1
    assert line(out, "broker localhost:").startswith("✗")
    assert "unreachable" in line(out, "broker localhost:")
    assert "firewall" in out


def test_a_broker_with_another_ca_is_not_trusted(point, tmp_path):
    other = broker_tls.make_ca(tmp_path / "other-ca", ["localhost"])
    code, out = selftest(
        tmp_path, variant(point, tmp_path, broker_ca_pem=other.ca_file.read_text())
    )
    assert code == 1
    assert "wrong certificate" in line(out, "broker localhost:")


def test_an_unsynchronised_clock_and_a_broken_key_fail(point, tmp_path):
    code, out = selftest(
        tmp_path,
        variant(point, tmp_path, controller_public_key="AAAA"),
        chrony=CHRONY_UNSYNCED,
    )
    assert code == 1
    assert line(out, "clock (chrony").startswith("✗")
    assert "chronyc sources" in out
    assert line(out, "controller key").startswith("✗")
    assert "2 checks failed" in out


def test_a_missing_config_is_a_clear_error(tmp_path):
    code, out = selftest(tmp_path, tmp_path / "nowhere.json")
    assert code != 0
    assert "does not exist" in out


def session_client(user: str, password: str, port: int) -> tuple[mqtt.Client, list[object]]:
    """A persistent MQTT 5 session on the plain listener, as the agent keeps one; the list
    collects what arrives (payloads) and the acknowledgement of each subscription ("subscribed")."""
    seen: list[object] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, password)
    client.on_message = lambda _c, _u, msg: seen.append(bytes(msg.payload))
    client.on_subscribe = lambda *_a: seen.append("subscribed")
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.loop_start()
    return client, seen


def close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def test_the_selftest_leaves_what_waits_for_the_point_queued(point, tmp_path):
    """Its login takes the agent's session over (one session per account): it must neither
    clear the session nor take the commands queued in it."""
    node = json.loads(point.read_text())
    controller = bootstrap.load_config(point.parent / "controller")
    topic = node_topic(node["node_id"], "cmd")
    agent, seen = session_client(node["node_id"], node["broker_password"], controller.mqtt_port)
    agent.subscribe(topic, qos=1)
    wait_for(lambda: "subscribed" in seen, 10, "the agent's subscription")
    close(agent)
    sender, _ = session_client(controller.mqtt_user, controller.mqtt_password, controller.mqtt_port)
    sender.publish(topic, b"queued-while-away", qos=1).wait_for_publish(10)
    close(sender)

    code, out = selftest(tmp_path, point)
    assert code == 0, out

    back, got = session_client(node["node_id"], node["broker_password"], controller.mqtt_port)
    try:
        wait_for(lambda: b"queued-while-away" in got, 10, "the queued command")
    finally:
        close(back)
