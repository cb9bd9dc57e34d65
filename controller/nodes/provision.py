"""Provisioning: a node id, its broker credentials (new ones revoke the old), ACL and config."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from controller.config import ControllerConfig
from controller.db import Database
from controller.models import Node, Zone
from controller.nodes import broker, broker_tls, client_certs
from controller.nodes.bootstrap import write_broker_acl
from controller.nodes.keys import load_or_create_key
from node_agent.config import NodeConfig, RelayConfig, SinkConfig
from protocol.signing import public_key_b64


class ProvisionError(ValueError):
    """Bad provisioning input; nothing was changed."""


@dataclass(frozen=True)
class Provisioned:
    node_id: str
    config_path: Path
    broker_reloaded: bool


def slug(text: str) -> str:
    """ASCII slug of a Vietnamese name: 'Thôn Đông' -> 'thon-dong'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40] or "loa"


def add_node(
    config: ControllerConfig,
    *,
    name: str,
    zone: str,
    latitude: float | None = None,
    longitude: float | None = None,
    node_data_dir: Path | None = None,
    config_out: Path | None = None,
    sink: SinkConfig | None = None,
    relay: RelayConfig | None = None,
    broker_host: str | None = None,
    accepts_tests: bool = False,
) -> Provisioned:
    """A new node with its broker account, and its config file (on the controller by default)."""
    node_id = create_node(
        config,
        name=name,
        zone=zone,
        latitude=latitude,
        longitude=longitude,
        accepts_tests=accepts_tests,
    )
    password, reloaded = issue_password(config, node_id)
    node_config = config_for(
        config,
        node_id,
        password,
        data_dir=node_data_dir or config.nodes_dir / node_id,
        sink=sink,
        relay=relay,
        broker_host=broker_host,
    )
    out = config_out or config.nodes_dir / node_id / "node.json"
    node_config.save(out)
    return Provisioned(node_id, out, reloaded)


def create_node(
    config: ControllerConfig,
    *,
    name: str,
    zone: str,
    latitude: float | None = None,
    longitude: float | None = None,
    accepts_tests: bool = False,
) -> str:
    """The node's row and its ACL entry; no broker password yet (``issue_password``)."""
    if not name.strip():
        raise ProvisionError("a node needs a name")
    if latitude is not None and not -90 <= latitude <= 90:
        raise ProvisionError(f"latitude {latitude} is outside -90..90")
    if longitude is not None and not -180 <= longitude <= 180:
        raise ProvisionError(f"longitude {longitude} is outside -180..180")
    db = Database(config.db_url)
    try:
        with db.session() as s:
            zone_row = s.scalar(select(Zone).where(Zone.code == zone))
            if zone_row is None:
                known = ", ".join(s.scalars(select(Zone.code))) or "none yet"
                raise ProvisionError(f"unknown zone {zone!r} (known: {known})")
            node_id = f"{slug(name)}-{secrets.token_hex(2)}"
            s.add(
                Node(
                    id=node_id,
                    name=name,
                    zone_id=zone_row.id,
                    latitude=latitude,
                    longitude=longitude,
                    accepts_tests=accepts_tests,
                )
            )
            s.flush()
            write_broker_acl(config, list(s.scalars(select(Node.id))))
    finally:
        db.engine.dispose()
    return node_id


def issue_password(config: ControllerConfig, node_id: str) -> tuple[str, bool]:
    """``replace_password`` for ``node_id``, the node list read from the database."""
    db = Database(config.db_url)
    try:
        with db.session() as s:
            node_ids = list(s.scalars(select(Node.id)))
    finally:
        db.engine.dispose()
    return replace_password(config, node_id, node_ids)


def replace_password(
    config: ControllerConfig, node_id: str, node_ids: list[str]
) -> tuple[str, bool]:
    """A new broker password for ``node_id``, replacing (revoking) any older one, with the ACL
    rewritten for ``node_ids`` (every node) and a running broker reloaded; (password, reloaded).

    On reload Mosquitto checks its connected clients against the new password file and
    disconnects those whose password no longer matches: a replaced Pi still online is cut off.
    """
    if node_id not in node_ids:
        raise ProvisionError(f"unknown node {node_id!r} (`loa node provision --name ...`)")
    password = broker.new_password()
    files = broker.BrokerFiles(config.broker_dir)
    broker.set_password(files, node_id, password)
    write_broker_acl(config, node_ids)
    return password, broker.reload_broker(files)


def config_for(
    config: ControllerConfig,
    node_id: str,
    password: str,
    *,
    data_dir: Path,
    sink: SinkConfig | None = None,
    relay: RelayConfig | None = None,
    broker_host: str | None = None,
) -> NodeConfig:
    """The node's config: how it reaches the broker (through TLS when on) and the pinned key."""
    key = load_or_create_key(config.key_file)
    tls = broker_tls.listener(config)
    client = client_certs.issue(config, node_id)
    host = broker_host or (config.mqtt_tls_hosts[:1] if tls else [config.mqtt_host])[0]
    return NodeConfig(
        node_id=node_id,
        broker_host=host,
        broker_port=tls.port if tls else config.mqtt_port,
        broker_password=password,
        broker_tls=tls is not None,
        broker_ca_pem=tls.files.ca_file.read_text() if tls else None,
        broker_client_cert_pem=client.cert_pem if client else None,
        broker_client_key_pem=client.key_pem if client else None,
        controller_public_key=public_key_b64(key),
        data_dir=data_dir,
        sink=sink or SinkConfig(),
        relay=relay or RelayConfig(),
    )
