"""`loa demo`: broker, controller and simulated nodes in a seeded example commune."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import signal
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select

from controller import audit
from controller.auth import create_user, hash_password, issue_token
from controller.config import ControllerConfig
from controller.db import Database
from controller.models import Node, ProgrammeDocument, User
from controller.nodes import bootstrap, broker_tls
from controller.nodes.provision import add_node
from controller.ops.cluster import Cluster
from controller.private_files import write_private
from controller.programme import store
from node_agent.config import RelayConfig, SinkConfig
from schedules import Programme, Slot

COMMUNE = "Xã Hòa Bình (demo)"
ZONES = (("thon-dong", "Thôn Đông", 21.0285, 105.8542), ("thon-tay", "Thôn Tây", 21.0301, 105.8460))
ADMIN = "admin"
# The usual daily news slots of a commune station, in both villages.
SLOTS = (
    ("ban-tin-sang", "Bản tin sáng", dt.time(6)),
    ("ban-tin-chieu", "Bản tin chiều", dt.time(17)),
)
SLOT_LENGTH_S = 1800
ACCOUNTS = ((ADMIN, "admin"), ("phatthanh", "broadcaster"), ("pheduyet", "approver"))


def prepare(
    data_dir: Path,
    *,
    nodes: int,
    http_port: int,
    mqtt_port: int,
    mqtt_tls_port: int | None = None,
    **settings: object,
) -> Cluster:
    """Set up (or reuse) the demo data directory and return its cluster, not yet started.

    The nodes use the broker's TLS listener (``mqtt_tls_port``, by default the port after
    ``mqtt_port``) with a commune CA made for ``localhost``, as a real commune's do: the secure
    path is the one the demo and the tests run.
    """
    settings.setdefault("mqtt_tls_hosts", ["localhost"])
    config = bootstrap.setup(
        data_dir,
        http_port=http_port,
        mqtt_port=mqtt_port,
        mqtt_tls_port=mqtt_tls_port or mqtt_port + 1,
        commune_name=COMMUNE,
        **settings,
    )
    db = Database(config.db_url)
    for code, name, lat, lon in ZONES:
        bootstrap.add_zone(db, code, name, latitude=lat, longitude=lon)
    with db.session() as s:
        existing = list(s.scalars(select(Node.id).order_by(Node.created_at)))
    db.engine.dispose()
    cluster = Cluster(config)
    for node_id in existing[:nodes]:
        cluster.node_configs[node_id] = config.nodes_dir / node_id / "node.json"
    for i in range(len(existing), nodes):
        code, name, lat, lon = ZONES[i % len(ZONES)]
        made = add_node(
            config,
            name=f"Loa {i + 1} {name}",
            zone=code,
            latitude=lat + 0.001 * i,
            longitude=lon + 0.001 * i,
            sink=SinkConfig(kind="wav"),
            relay=RelayConfig(kind="recording", preroll_s=0.5, postroll_s=1.0),
        )
        cluster.node_configs[made.node_id] = made.config_path
    _refresh_node_ports(cluster)
    return cluster


def seed_programme(config: ControllerConfig) -> bool:
    """Give a fresh demo the morning and evening slots (06:00–06:30, 17:00–17:30, every day, in
    both villages); a programme already there, even an emptied one, is left as it is. Returns
    whether it seeded."""
    db = Database(config.db_url)
    try:
        with db.session() as s:
            if s.get(ProgrammeDocument, 1) is not None:
                return False
            zones = [code for code, *_ in ZONES]
            slots = [
                Slot(id=i, name=name, start=at, max_length_s=SLOT_LENGTH_S, zones=zones)
                for i, name, at in SLOTS
            ]
            store.save(s, Programme(slots=slots))
            for slot in slots:
                audit.record(
                    s, "demo", "programme.slot.add", slot.id, slot=slot.model_dump(mode="json")
                )
        return True
    finally:
        db.engine.dispose()


def _refresh_node_ports(cluster: Cluster) -> None:
    """A re-run with other ports (or a demo directory from before TLS) must reach the same nodes
    through the TLS listener, verifying the CA the broker now has."""
    tls = broker_tls.listener(cluster.config)
    link: dict[str, object] = {"broker_port": cluster.config.mqtt_port, "broker_tls": False}
    if tls is not None:
        link = {
            "broker_host": cluster.config.mqtt_tls_hosts[0],
            "broker_port": tls.port,
            "broker_tls": True,
            "broker_ca_pem": tls.files.ca_file.read_text(),
        }
    for path in cluster.node_configs.values():
        data = json.loads(path.read_text())
        if any(data.get(k) != v for k, v in link.items()):
            data.update(link)
            write_private(path, json.dumps(data, indent=2))


def credentials(config: ControllerConfig) -> dict[str, Any]:
    """The demo's logins (an admin, a broadcaster, an approver) and the admin's API token,
    created once and kept in credentials.json."""
    path = config.data_dir / "credentials.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    passwords = {name: secrets.token_urlsafe(9) for name, _role in ACCOUNTS}
    db = Database(config.db_url)
    with db.session() as s:
        for name, role in ACCOUNTS:
            user = s.scalar(select(User).where(User.username == name))
            if user is None:
                user = create_user(s, name, passwords[name], role)
            else:  # credentials.json was deleted: issue fresh passwords with the fresh token
                user.password_hash = hash_password(passwords[name])
            if name == ADMIN:
                token = issue_token(s, user, "demo")
    db.engine.dispose()
    creds = {
        "url": f"http://{config.http_host}:{config.http_port}",
        "username": ADMIN,
        "password": passwords[ADMIN],
        "api_token": token,
        "accounts": {name: {"role": role, "password": passwords[name]} for name, role in ACCOUNTS},
    }
    write_private(path, json.dumps(creds, indent=2))
    return creds


def run(data_dir: Path, *, nodes: int, http_port: int, mqtt_port: int, mqtt_tls_port: int) -> int:
    cluster = prepare(
        data_dir,
        nodes=nodes,
        http_port=http_port,
        mqtt_port=mqtt_port,
        mqtt_tls_port=mqtt_tls_port,
    )
    creds = credentials(cluster.config)
    seed_programme(cluster.config)
    creds["url"] = cluster.url
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        cluster.start_all()
        print(f"Loa Làng demo is running: {cluster.url}  (API docs: {cluster.url}/docs)")
        print(f"  web app:     {cluster.url}/  (Vietnamese; English at the foot of each page)")
        for name, account in creds.get("accounts", {}).items():
            print(f"  {account['role']} login: {name} / {account['password']}")
        print(f"  API token:   {creds['api_token']}")
        print(f"  credentials: {cluster.config.data_dir / 'credentials.json'}")
        print(
            f"  broker:      127.0.0.1:{cluster.config.mqtt_port} (controller), "
            f"TLS on {cluster.config.mqtt_tls_port} (nodes; CA {cluster.config.broker_tls_dir})"
        )
        for node_id, path in cluster.node_configs.items():
            print(f"  node {node_id}: played audio in {path.parent / 'played'}")
        print("Press Ctrl-C to stop.")
        while not stop.wait(1.0):
            dead = [p.name for p in [*cluster.nodes.values()] if p.popen.poll() is not None]
            if cluster.controller and cluster.controller.popen.poll() is not None:
                dead.append("controller")
            if cluster.broker_proc and cluster.broker_proc.poll() is not None:
                dead.append("broker")
            if dead:
                print(f"stopped unexpectedly: {', '.join(dead)} (logs in {cluster.logs_dir})")
                return 1
    finally:
        print("stopping…")
        cluster.stop_all()
    return 0
