"""The broker's TLS listener, under attack, on a real Mosquitto with the project's config."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from controller.nodes import broker
from controller.nodes.broker_tls import TlsFiles, TlsListener, make_ca
from protocol import mqtt_client
from protocol.topics import TO_NODE, node_topic
from tests.support import wait_for

NODE, PASSWORD = "node-1", "a-long-node-password"


@dataclass(frozen=True)
class TlsBroker:
    plain_port: int
    tls_port: int
    tls: TlsFiles
    config: str


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[TlsBroker]:
    files = broker.BrokerFiles(tmp_path / "broker")
    broker.set_password(files, NODE, PASSWORD)
    broker.write_acl(files, "controller", [NODE])
    tls = make_ca(tmp_path / "tls", ["localhost", "127.0.0.1"])
    plain_port, tls_port = broker.free_port(), broker.free_port()
    proc = broker.start_broker(files, plain_port, tls=TlsListener(tls_port, tls))
    try:
        yield TlsBroker(plain_port, tls_port, tls, files.config_file.read_text())
    finally:
        broker.stop_broker(proc)


def session(port: int, host: str = "localhost", ca: Path | None = None) -> mqtt_client.Session:
    return mqtt_client.Session(
        client_id=NODE,
        username=NODE,
        password=PASSWORD,
        host=host,
        port=port,
        subscriptions=tuple(node_topic(NODE, ch) for ch in TO_NODE),
        session_expiry_s=60,
        tls=True,
        ca_pem=ca.read_text() if ca else None,
    )


def test_a_node_verifying_the_commune_ca_logs_in_over_tls(tls_broker: TlsBroker) -> None:
    links: list[mqtt_client.Link] = []
    client = mqtt_client.make_client(
        session(tls_broker.tls_port, ca=tls_broker.tls.ca_file), links.append
    )
    client.connect("localhost", tls_broker.tls_port)
    client.loop_start()
    try:
        wait_for(lambda: links, 10, "the broker's answer")
        assert isinstance(links[0], mqtt_client.Connected), links
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_broker_signed_by_another_ca_is_refused(tls_broker: TlsBroker, tmp_path: Path) -> None:
    # An impostor on the village Wi-Fi with its own CA and a certificate for the right name.
    other = make_ca(tmp_path / "other", ["localhost", "127.0.0.1"])
    client = mqtt_client.make_client(session(tls_broker.tls_port, ca=other.ca_file), print)
    with pytest.raises(ssl.SSLCertVerificationError):
        client.connect("localhost", tls_broker.tls_port)


def test_the_public_cas_do_not_vouch_for_the_commune_broker(tls_broker: TlsBroker) -> None:
    client = mqtt_client.make_client(session(tls_broker.tls_port), print)
    with pytest.raises(ssl.SSLCertVerificationError):
        client.connect("localhost", tls_broker.tls_port)


def test_a_certificate_for_another_host_name_is_refused(tmp_path: Path) -> None:
    # The commune CA signed it, but for another name: the node checks the name too.
    files = broker.BrokerFiles(tmp_path / "broker")
    broker.set_password(files, NODE, PASSWORD)
    broker.write_acl(files, "controller", [NODE])
    tls = make_ca(tmp_path / "tls", ["broker.example"])
    tls_port = broker.free_port()
    proc = broker.start_broker(files, broker.free_port(), tls=TlsListener(tls_port, tls))
    try:
        client = mqtt_client.make_client(session(tls_port, ca=tls.ca_file), print)
        with pytest.raises(ssl.SSLCertVerificationError, match="match"):
            client.connect("localhost", tls_port)
    finally:
        broker.stop_broker(proc)


def test_a_port_another_program_holds_is_refused_before_the_broker_starts(tmp_path: Path) -> None:
    # A second demo's TLS port: our broker would bind its plain port, fail on this one and exit,
    # while the wait took the other program's listener for ours and said it was running.
    files = broker.BrokerFiles(tmp_path / "broker")
    broker.set_password(files, NODE, PASSWORD)
    broker.write_acl(files, "controller", [NODE])
    tls = make_ca(tmp_path / "tls", ["localhost"])
    with socket.create_server(("127.0.0.1", 0)) as other:
        taken = other.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"port {taken} is already in use"):
            broker.start_broker(files, broker.free_port(), tls=TlsListener(taken, tls))
    assert not files.config_file.exists()  # nothing rendered, nothing started


def connect_packet(user: str, password: str) -> bytes:
    """An MQTT 3.1.1 CONNECT, password in clear, as a client without TLS would send it."""

    def field(text: str) -> bytes:
        data = text.encode()
        return len(data).to_bytes(2, "big") + data

    body = field("MQTT") + bytes([4, 0xC2]) + (30).to_bytes(2, "big")
    body += field(user) + field(user) + field(password)
    assert len(body) < 128
    return bytes([0x10, len(body)]) + body


def test_a_plain_text_client_gets_no_session_on_the_tls_port(tls_broker: TlsBroker) -> None:
    with socket.create_connection(("127.0.0.1", tls_broker.tls_port), timeout=10) as s:
        s.sendall(connect_packet(NODE, PASSWORD))
        try:
            reply = s.recv(64)
        except ConnectionResetError:
            reply = b""  # the broker dropped the connection: the handshake was no TLS
    assert not reply.startswith(b"\x20"), "a CONNACK over plain text on the TLS port"


def non_loopback_ip() -> str | None:
    """This host's address on its default route, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            ip: str = s.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") else ip


def test_with_tls_on_the_plain_listener_is_on_loopback_only(tls_broker: TlsBroker) -> None:
    assert f"listener {tls_broker.plain_port} 127.0.0.1\n" in tls_broker.config
    assert f"listener {tls_broker.tls_port}\n" in tls_broker.config
    ip = non_loopback_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try the plain port on")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((ip, tls_broker.plain_port), timeout=10).close()
    # The same address does reach the TLS port: the refusal above is the bind, not the network.
    socket.create_connection((ip, tls_broker.tls_port), timeout=10).close()


def test_every_listener_keeps_the_per_listener_policy(tmp_path: Path) -> None:
    files = broker.BrokerFiles(tmp_path / "broker")
    tls = make_ca(tmp_path / "tls", ["localhost"])
    text = broker.write_config(files, 1883, "0.0.0.0", tls=TlsListener(8883, tls)).read_text()
    listeners = text.split("\nlistener ")[1:]
    assert [block.split("\n", 1)[0] for block in listeners] == ["1883 127.0.0.1", "8883"]
    for block in listeners:
        assert "\nuse_username_as_clientid true\n" in block
    assert "\ntls_version tlsv1.2\n" in listeners[1]
    assert "\nrequire_certificate false\n" in listeners[1]


def test_without_tls_the_config_is_as_before(tmp_path: Path) -> None:
    files = broker.BrokerFiles(tmp_path / "broker")
    text = broker.write_config(files, 1883, "0.0.0.0").read_text()
    assert "\nlistener 1883 0.0.0.0\n" in text
    assert "cafile" not in text
    assert text.count("\nlistener ") == 1


def test_the_commune_ca_files_are_private(tmp_path: Path) -> None:
    tls = make_ca(tmp_path / "tls", ["loa.example", "10.0.0.2"])
    for path in (tls.ca_file, tls.cert_file, tls.key_file):
        assert path.stat().st_mode & 0o077 == 0, path
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", str(tls.cert_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DNS:loa.example" in out
    assert "IP Address:10.0.0.2" in out


def test_init_makes_the_commune_ca_and_node_add_pins_it(tmp_path: Path) -> None:
    data = tmp_path / "ctl"
    loa = [sys.executable, "-m", "controller.cli"]
    tls = ["--tls-port", "8883", "--tls-host", "loa.example", "--tls-host", "10.0.0.2"]
    subprocess.run([*loa, "init", "--data", str(data), "--commune", "Xã Thử", *tls], check=True)
    zone = ["--code", "thon-1", "--name", "Thôn 1"]
    subprocess.run([*loa, "zone", "add", "--data", str(data), *zone], check=True)
    out = tmp_path / "node.json"
    node = ["--name", "Loa chợ", "--zone", "thon-1", "--out", str(out)]
    subprocess.run([*loa, "node", "add", "--data", str(data), *node], check=True)
    made = json.loads(out.read_text())
    ca = data / "broker" / "tls" / "ca.crt"
    assert made["broker_ca_pem"] == ca.read_text()
    assert (made["broker_host"], made["broker_port"], made["broker_tls"]) == (
        "loa.example",
        8883,
        True,
    )
    for name in ("ca.crt", "server.crt", "server.key"):
        assert (data / "broker" / "tls" / name).stat().st_mode & 0o077 == 0, name
