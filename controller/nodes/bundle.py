"""A node's provisioning bundle: what a Pi needs to become a loudspeaker point.

``node.json`` (its config, with its broker password, the broker's CA and the controller's key,
so the agent reads one file), ``ca.crt`` (the commune CA, when the broker has TLS),
``controller.pub`` (the controller's Ed25519 public key, PEM) and ``label.png``. Every bundle
issues the node a new broker password and revokes the one before: a node's password is stored
only as a hash, so there is no other way to hand one out, and a replaced Pi's card is cut off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from controller.config import ControllerConfig
from controller.db import Database
from controller.models import Commune, Node
from controller.nodes import label, web_tls
from controller.nodes.keys import load_or_create_key
from controller.nodes.provision import (
    ProvisionError,
    config_for,
    issue_password,
    replace_password,
)
from controller.ops.node_cli import PI_DATA_DIR
from controller.private_files import private_dir, write_private
from node_agent.config import RelayConfig, SinkConfig


@dataclass(frozen=True)
class BundleOptions:
    """How the node is set up: kept with an enrolment code until its bundle is made."""

    data_dir: Path = PI_DATA_DIR
    sink: SinkConfig = field(default_factory=SinkConfig)
    relay: RelayConfig = field(default_factory=RelayConfig)
    broker_host: str | None = None

    def dump(self) -> dict[str, object]:
        return {
            "data_dir": str(self.data_dir),
            "sink": self.sink.model_dump(),
            "relay": self.relay.model_dump(),
            "broker_host": self.broker_host,
        }

    @classmethod
    def load(cls, data: dict[str, object]) -> BundleOptions:
        host = data.get("broker_host")
        return cls(
            data_dir=Path(str(data.get("data_dir") or PI_DATA_DIR)),
            sink=SinkConfig.model_validate(data.get("sink") or {}),
            relay=RelayConfig.model_validate(data.get("relay") or {}),
            broker_host=str(host) if host else None,
        )


@dataclass(frozen=True)
class Bundle:
    node_id: str
    files: dict[str, str]  # node.json, controller.pub and (broker TLS) ca.crt; not the label
    broker_reloaded: bool


def point_url(config: ControllerConfig, node_id: str) -> str:
    """The point's page in the web app (``controller.web.pages_nodes.node_page``)."""
    return f"{config.web_url}/nodes/{node_id}"


def make(
    config: ControllerConfig,
    node_id: str,
    options: BundleOptions,
    node_ids: list[str] | None = None,
) -> Bundle:
    """A new password for ``node_id`` (the old one revoked, the broker reloaded) in a bundle.
    ``node_ids``: every node, when the caller has a database session open (the controller)."""
    if node_ids is None:
        password, reloaded = issue_password(config, node_id)
    else:
        password, reloaded = replace_password(config, node_id, node_ids)
    node_config = config_for(
        config,
        node_id,
        password,
        data_dir=options.data_dir,
        sink=options.sink,
        relay=options.relay,
        broker_host=options.broker_host,
    )
    public = load_or_create_key(config.key_file).public_key()
    files = {
        "node.json": node_config.model_dump_json(indent=2),
        "controller.pub": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
    }
    if node_config.broker_ca_pem:
        files["ca.crt"] = node_config.broker_ca_pem
    return Bundle(node_id, files, reloaded)


def facts(config: ControllerConfig, node_id: str) -> label.LabelFacts:
    """What the label of ``node_id`` says."""
    db = Database(config.db_url)
    try:
        with db.session() as s:
            node = s.get(Node, node_id)
            if node is None:
                raise ProvisionError(f"unknown node {node_id!r}")
            commune = s.scalar(select(Commune.name)) or config.commune_name
            point_name, zone_name = node.name, node.zone.name
    finally:
        db.engine.dispose()
    fingerprint = web_tls.served_fingerprint(config)
    return label.LabelFacts(
        point_name=point_name,
        zone_name=zone_name,
        node_id=node_id,
        url=point_url(config, node_id),
        fingerprint=web_tls.grouped(fingerprint) if fingerprint else None,
        commune=commune,
    )


def label_png(config: ControllerConfig, node_id: str) -> bytes:
    return label.draw(facts(config, node_id)).png()


def write(out: Path, bundle: Bundle, label_bytes: bytes) -> list[Path]:
    """The bundle's files in ``out`` (made 0700), each 0600; the paths written."""
    private_dir(out)
    written: list[Path] = []
    for name, text in bundle.files.items():
        write_private(out / name, text)
        written.append(out / name)
    write_private(out / "label.png", label_bytes)
    written.append(out / "label.png")
    return written


def check_out(out: Path) -> None:
    """``out`` may take a bundle: missing, empty, or an earlier bundle (replaced in place). Any
    other directory is refused: it would be made private (0700) and filled with secrets."""
    if out.exists() and not out.is_dir():
        raise ProvisionError(f"{out} is a file: give a directory for the bundle")
    if out.is_dir() and any(out.iterdir()) and not (out / "node.json").exists():
        raise ProvisionError(f"{out} holds other files: give a new directory for the bundle")


def provision_to(
    config: ControllerConfig, node_id: str, out: Path, options: BundleOptions
) -> Bundle:
    """``node_id``'s bundle in ``out``. The label is drawn and ``out`` made before the new
    password is issued: a failure there leaves the node's current password working."""
    check_out(out)
    png = label_png(config, node_id)
    private_dir(out)
    made = make(config, node_id, options)
    write(out, made, png)
    return made
