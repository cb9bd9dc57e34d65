"""A commune on a real SQLite file, with zones, nodes and accounts: the controller's domain
without a broker or a server. The fixtures that build it are in this folder's conftest."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from controller.config import ControllerConfig
from controller.db import Database
from controller.models import AudioFile, Bulletin, Node, OutboxCommand, User, Zone, now
from controller.nodes import bootstrap, broker
from controller.nodes.keys import load_or_create_key
from controller.nodes.provision import add_node
from controller.ops import demo
from node_agent.config import RelayConfig, SinkConfig
from protocol.messages import CommandBody
from protocol.signing import ReplayGuard, verify_envelope


@dataclass
class Commune:
    config: ControllerConfig
    db: Database
    key: Ed25519PrivateKey

    def nodes_in(self, *zones: str) -> list[str]:
        with self.db.session() as s:
            query = select(Node.id).join(Zone, Node.zone_id == Zone.id)
            return sorted(s.scalars(query.where(Zone.code.in_(zones))))

    def user(self, username: str) -> User:
        with self.db.session() as s:
            found = s.scalar(select(User).where(User.username == username))
            assert found is not None
            return found

    def commands(self) -> list[tuple[str, CommandBody]]:
        """Pending commands in the outbox as each node would verify them: (node, body)."""
        with self.db.session() as s:
            rows = s.scalars(select(OutboxCommand).where(OutboxCommand.result == "pending")).all()
            return [(row.node_id, self.verified(row.node_id, row.envelope)) for row in rows]

    def verified(self, node_id: str, envelope: str) -> CommandBody:
        """What ``node_id`` reads from ``envelope``; raises if it would reject it."""
        return verify_envelope(
            envelope.encode(), self.key.public_key(), node_id, ReplayGuard()
        ).body

    def bulletin(
        self,
        *,
        priority: str = "normal",
        valid_for: timedelta = timedelta(hours=2),
        audio: bytes | None = None,
        **fields: object,
    ) -> Bulletin:
        """A stored bulletin with a little stand-in audio (or ``audio``), by the broadcaster."""
        data = uuid.uuid4().bytes * 64 if audio is None else audio
        digest = hashlib.sha256(data).hexdigest()
        self.config.audio_dir.mkdir(parents=True, exist_ok=True)
        (self.config.audio_dir / f"{digest}.ogg").write_bytes(data)
        author = self.user("phatthanh")
        with self.db.session() as s:
            s.add(AudioFile(sha256=digest, size=len(data), duration_s=4.0, mime="audio/ogg"))
            bulletin = Bulletin(
                id=uuid.uuid4().hex,
                title="Thông báo lịch tiêm phòng",
                audio_sha256=digest,
                priority=priority,
                valid_until=now() + valid_for,
                created_by=author.id,
                **fields,
            )
            s.add(bulletin)
        return bulletin


def make_commune(root: Path) -> Path:
    """Set up a commune's data directory: zones ``thon-dong`` and ``thon-tay`` with two nodes
    each, ``thon-bac`` with one; the accounts admin, phatthanh (broadcaster) and pheduyet
    (approver). Slow (keys, accounts, migrations): made once, then copied by ``open_copy``."""
    cluster = demo.prepare(root, nodes=4, http_port=broker.free_port(), mqtt_port=1)
    db = Database(cluster.config.db_url)
    bootstrap.add_zone(db, "thon-bac", "Thôn Bắc")
    db.engine.dispose()
    add_node(
        cluster.config,
        name="Loa Thôn Bắc",
        zone="thon-bac",
        sink=SinkConfig(kind="wav"),
        relay=RelayConfig(kind="recording"),
    )
    demo.credentials(cluster.config)
    return root


def open_copy(template: Path, root: Path) -> Commune:
    """A private copy of the commune made by ``make_commune``, with free broker ports (plain,
    and TLS for the nodes)."""
    shutil.copytree(template, root)
    config = bootstrap.load_config(root).model_copy(
        update={
            "data_dir": root,
            "mqtt_port": broker.free_port(),
            "mqtt_tls_port": broker.free_port(),
        }
    )
    return Commune(config, Database(config.db_url), load_or_create_key(config.key_file))
