"""Client certificates for the nodes (`loa tls init --client-certs`), on a real Mosquitto with
the project's config: the broker wants a certificate from the commune CA *and* the password."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from controller import config_check
from controller.config import ControllerConfig
from controller.db import Database
from controller.nodes import bootstrap, broker, broker_tls, tls_init
from controller.nodes.provision import add_node
from node_agent.config import NodeConfig
from protocol import mqtt_client
from protocol.topics import TO_NODE, node_topic
from tests.support import wait_for


@dataclass(frozen=True)
class Commune:
    config: ControllerConfig
    node: NodeConfig


@pytest.fixture
def commune(tmp_path: Path) -> Iterator[Commune]:
    """A controller data directory with client certificates on, one node, its broker running."""
    data = tmp_path / "data"
    bootstrap.setup(data, commune_name="Xã Thử", mqtt_port=broker.free_port())
    tls_init.init(data, ["localhost"], port=broker.free_port(), client_certs=True)
    config = bootstrap.load_config(data)
    bootstrap.add_zone(Database(config.db_url), "thon-1", "Thôn 1")
    made = add_node(config, name="Loa chợ", zone="thon-1")
    node = NodeConfig.load(made.config_path)
    files = broker.BrokerFiles(config.broker_dir)
    proc = broker.start_broker(files, config.mqtt_port, tls=broker_tls.listener(config))
    try:
        yield Commune(config, node)
    finally:
        broker.stop_broker(proc)


def connect(node: NodeConfig, **changes: object) -> mqtt_client.Link:
    """What the broker answers a node session with ``changes`` (first link event)."""
    fields = {
        "client_id": node.node_id,
        "username": node.node_id,
        "password": node.broker_password,
        "host": node.broker_host,
        "port": node.broker_port,
        "subscriptions": tuple(node_topic(node.node_id, ch) for ch in TO_NODE),
        "session_expiry_s": 60,
        "tls": True,
        "ca_pem": node.broker_ca_pem,
        "client_cert_pem": node.broker_client_cert_pem,
        "client_key_pem": node.broker_client_key_pem,
        **changes,
    }
    links: list[mqtt_client.Link] = []
    client = mqtt_client.make_client(mqtt_client.Session(**fields), links.append)  # type: ignore[arg-type]
    try:
        client.connect(node.broker_host, node.broker_port)
    except (ssl.SSLError, ConnectionError) as exc:
        return mqtt_client.ConnectFailed(str(exc))
    client.loop_start()
    try:
        wait_for(lambda: links, 10, "the broker's answer")
    except AssertionError:
        links.append(mqtt_client.ConnectFailed("no answer"))
    finally:
        client.disconnect()
        client.loop_stop()
    return links[0]


def test_a_provisioned_node_gets_a_certificate_and_connects_with_it(commune: Commune) -> None:
    node = commune.node
    assert node.broker_client_cert_pem
    assert node.broker_client_key_pem
    assert (
        "require_certificate true"
        in commune.config.broker_dir.joinpath("mosquitto.conf").read_text()
    )
    assert isinstance(connect(node), mqtt_client.Connected)


def test_the_password_without_a_certificate_does_not_reach_the_login(commune: Commune) -> None:
    link = connect(commune.node, client_cert_pem=None, client_key_pem=None)
    assert not isinstance(link, mqtt_client.Connected), link


def test_a_certificate_from_another_ca_is_refused(commune: Commune, tmp_path: Path) -> None:
    other = tmp_path / "other"
    bootstrap.setup(other, commune_name="Xã Khác")
    tls_init.init(other, ["localhost"], client_certs=True)
    from controller.nodes import client_certs

    foreign = client_certs.issue(bootstrap.load_config(other), commune.node.node_id)
    assert foreign is not None
    link = connect(commune.node, client_cert_pem=foreign.cert_pem, client_key_pem=foreign.key_pem)
    assert not isinstance(link, mqtt_client.Connected), link


def test_the_certificate_without_the_password_is_refused(commune: Commune) -> None:
    # Revoking a node's password still revokes the node: its certificate alone is no login.
    link = connect(commune.node, password="an-old-revoked-password")
    assert isinstance(link, mqtt_client.ConnectFailed), link


def test_tls_init_keeps_the_ca_key_only_while_client_certificates_are_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bootstrap.setup(data, commune_name="Xã Thử")
    key = data / "broker" / "tls" / "ca.key"
    tls_init.init(data, ["loa.example.vn"], client_certs=True)
    assert key.stat().st_mode & 0o777 == 0o600
    assert json.loads((data / "controller.json").read_text())["mqtt_tls_client_certs"] is True
    tls_init.init(data, ["loa.example.vn"], client_certs=True)  # idempotent: kept
    assert key.exists()
    tls_init.init(data, ["loa.example.vn"])  # turned off: nothing signs with the key any more
    assert not key.exists()
    assert json.loads((data / "controller.json").read_text())["mqtt_tls_client_certs"] is False
    with pytest.raises(ValueError, match="--replace"):  # the key is gone: a new CA is needed
        tls_init.init(data, ["loa.example.vn"], client_certs=True)
    config = bootstrap.load_config(data).model_copy(update={"mqtt_tls_client_certs": True})
    assert any(
        "ca.key" not in p and "mqtt_tls_client_certs" in p for p in config_check.problems(config)
    )
