"""Delivery: signs and sends commands, serves audio chunks, and tracks what nodes report.

One worker thread owns all of it; paho's thread only enqueues (see protocol.mqtt_client). A
command stays in the ``outbox`` table and is re-sent until its node acknowledges it or it
expires, because the broker's session queue is not a delivery guarantee we rely on.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controller.config import ControllerConfig
from controller.db import Database
from controller.delivery.availability import record_status
from controller.delivery.state import advance, expiry_reason
from controller.models import Bulletin, Delivery, Node, NodeEvent, OutboxCommand, now
from protocol import mqtt_client
from protocol.messages import (
    EVENT_ADAPTER,
    AudioRef,
    CancelCommand,
    Chunk,
    ChunkRequest,
    ChunkUnavailable,
    Command,
    CommandAck,
    CommandBody,
    ControlCommand,
    EventAck,
    NodeState,
    PlayCommand,
    PlayEvent,
)
from protocol.signing import sign_command
from protocol.topics import NodeChannel, all_nodes_filter, node_topic, parse_node_topic

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, config: ControllerConfig, db: Database, key: Ed25519PrivateKey) -> None:
        self.config, self.db, self.key = config, db, key
        self.inbox: mqtt_client.Inbox = queue.Queue()
        self.session = mqtt_client.Session(
            client_id="loa-controller",
            username=config.mqtt_user,
            password=config.mqtt_password,
            host=config.mqtt_host,
            port=config.mqtt_port,
            subscriptions=tuple(all_nodes_filter(ch) for ch in ("state", "events", "content/req")),
            session_expiry_s=24 * 3600,
        )
        self.client = mqtt_client.make_client(self.session, self.inbox)
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)
        self._handlers: dict[NodeChannel, Callable[[str, mqtt_client.Incoming], None]] = {
            "state": self._on_state,
            "events": self._on_events,
            "content/req": self._on_chunk_request,
        }

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        mqtt_client.start(self.client, self.session)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.inbox.put(("stop", None))
        self._thread.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()

    def kick(self) -> None:
        """Send what is due now instead of at the next periodic pass."""
        self.inbox.put(("kick", None))

    # --- commands -------------------------------------------------------------------------
    def queue_play(
        self,
        db: Session,
        bulletin: Bulletin,
        node_ids: list[str],
        *,
        play_id: str,
        play_at: datetime | None,
        valid_until: datetime | None = None,
        window_end: datetime | None = None,
    ) -> None:
        """Sign one play command per node and store it with its delivery, in ``db``'s
        transaction: it goes out when that commits and the worker is kicked. ``play_id`` names
        the airing; a bulletin may have many."""
        audio = bulletin.audio
        valid_until = valid_until or bulletin.valid_until
        command = PlayCommand(
            play_id=play_id,
            bulletin_id=bulletin.id,
            title=bulletin.title,
            audio=AudioRef(
                sha256=audio.sha256, size=audio.size, duration_s=audio.duration_s, mime=audio.mime
            ),
            play_at=play_at,
            valid_until=valid_until,
            window_end=window_end,
            priority=bulletin.priority,
        )
        for node_id in node_ids:
            db.add(
                Delivery(
                    play_id=play_id,
                    bulletin_id=bulletin.id,
                    node_id=node_id,
                    valid_until=valid_until,
                )
            )
            self._queue_command(db, command, node_id, play_id, valid_until)

    def queue_cancel(self, db: Session, deliveries: list[Delivery], reason: str) -> list[str]:
        """Cancel these plays on every node at once; returns the nodes told. Commands that
        never reached a node are withdrawn, so a node that comes back later never gets them."""
        open_plays: dict[str, list[str]] = {}
        for d in deliveries:
            if d.status not in ("finished", "failed", "expired", "cancelled", "rejected"):
                open_plays.setdefault(d.node_id, []).append(d.play_id)
        if not open_plays:
            return []
        withdrawn = db.scalars(
            select(OutboxCommand).where(
                OutboxCommand.result == "pending",
                OutboxCommand.play_id.in_([p for ps in open_plays.values() for p in ps]),
            )
        )
        for cmd in withdrawn:
            cmd.result = "withdrawn"
        expires = now() + timedelta(hours=1)
        for node_id, play_ids in open_plays.items():
            command = CancelCommand(play_ids=play_ids, reason=reason)
            self._queue_command(db, command, node_id, None, expires)
        return sorted(open_plays)

    def queue_control(
        self, db: Session, command: ControlCommand, node_id: str, ttl: timedelta
    ) -> CommandBody:
        """Sign a control command (volume, test tone, stop) for one node and store it in
        ``db``'s transaction; like a play, it goes out once that commits and the worker is
        kicked, and is re-sent until the node answers or ``ttl`` runs out."""
        return self._queue_command(db, command, node_id, None, now() + ttl)

    def _queue_command(
        self,
        db: Session,
        command: Command,
        node_id: str,
        play_id: str | None,
        expires_at: datetime,
    ) -> CommandBody:
        body, envelope = sign_command(self.key, command, [node_id], expires_at=expires_at)
        db.add(
            OutboxCommand(
                command_id=body.command_id,
                node_id=node_id,
                play_id=play_id,
                envelope=envelope.model_dump_json(),
                expires_at=body.expires_at,
            )
        )
        return body

    def _send_due(self, node_id: str | None = None, force: bool = False) -> None:
        cutoff = now() - timedelta(seconds=self.config.resend_interval_s)
        with self.db.session() as db:
            q = select(OutboxCommand).where(OutboxCommand.result == "pending")
            if node_id:
                q = q.where(OutboxCommand.node_id == node_id)
            offline = set(db.scalars(select(Node.id).where(Node.status == "offline")))
            for cmd in db.scalars(q.order_by(OutboxCommand.expires_at)):
                if cmd.expires_at <= now():
                    cmd.result = "expired"
                    continue
                if not force and cmd.last_sent_at and cmd.last_sent_at > cutoff:
                    continue
                if not force and cmd.last_sent_at and cmd.node_id in offline:
                    continue  # sent once; the rest goes when it is back, not into broker queues
                ttl = int((cmd.expires_at - now()).total_seconds()) + 1
                self.client.publish(
                    node_topic(cmd.node_id, "cmd"),
                    cmd.envelope,
                    qos=1,
                    properties=mqtt_client.expiring(ttl),
                )
                cmd.attempts += 1
                cmd.last_sent_at = now()

    def _expire_deliveries(self) -> None:
        deadline = func.coalesce(Delivery.valid_until, Bulletin.valid_until)
        with self.db.session() as db:
            rows = db.execute(
                select(Delivery, deadline, Node)
                .join(Bulletin, Delivery.bulletin_id == Bulletin.id)
                .join(Node, Delivery.node_id == Node.id)
                .where(Delivery.status.in_(("queued", "acknowledged", "received", "ready")))
                .where(deadline < now() - timedelta(seconds=self.config.expiry_grace_s))
            ).all()
            for delivery, valid_until, node in rows:
                delivery.status = "expired"
                delivery.reason = expiry_reason(delivery, node, valid_until)
                delivery.updated_at = now()

    # --- the worker ---------------------------------------------------------------------------
    def _run(self) -> None:
        last_pass = 0.0
        while not self._stop.is_set():
            try:
                kind, data = self.inbox.get(timeout=0.5)
            except queue.Empty:
                kind, data = "idle", None
            try:
                if kind == "connected":
                    self.connected.set()
                    self._send_due(force=True)
                elif kind == "disconnected":
                    self.connected.clear()
                elif kind == "kick":
                    self._send_due(force=False)
                elif kind == "message":
                    self._route(data)
                if time.monotonic() - last_pass > min(self.config.resend_interval_s, 5):
                    last_pass = time.monotonic()
                    if self.connected.is_set():
                        self._send_due()
                    self._expire_deliveries()
            except Exception:  # a bad message or a transient DB error must not stop delivery
                log.exception("dispatcher error handling %s", kind)

    def _route(self, msg: mqtt_client.Incoming) -> None:
        parsed = parse_node_topic(msg.topic)
        if parsed is None or parsed[1] not in self._handlers:
            log.warning("ignoring message on unexpected topic %s", msg.topic)
            return
        node_id, channel = parsed
        self._handlers[channel](node_id, msg)

    def _on_state(self, node_id: str, msg: mqtt_client.Incoming) -> None:
        try:
            state = NodeState.model_validate_json(msg.payload)
        except ValidationError as exc:
            log.warning("bad state from %s: %s", node_id, exc.errors()[0]["msg"])
            return
        came_online = False
        with self.db.session() as db:
            node = db.get(Node, node_id)
            if node is None:
                log.warning("state from unknown node %s", node_id)
                return
            came_online = node.status == "offline" and state.status != "offline"
            if node.status != state.status:
                record_status(db, node_id, state.status, now())
            node.status = state.status
            node.status_play_id = state.play_id
            node.last_seen = now() if state.status != "offline" else (node.last_seen or state.at)
            if state.status != "offline":
                _take_health(node, state, msg)
        if came_online:
            self._send_due(node_id=node_id, force=True)

    def _on_events(self, node_id: str, msg: mqtt_client.Incoming) -> None:
        payload = msg.payload
        try:
            event = EVENT_ADAPTER.validate_json(payload)
        except ValidationError as exc:
            log.warning("bad event from %s: %s", node_id, exc.errors()[0]["msg"])
            return
        if event.node_id != node_id:
            log.warning("event on %s's topic claims node %s; dropped", node_id, event.node_id)
            return
        with self.db.session() as db:
            node = db.get(Node, node_id)
            if node is None:
                return
            node.last_seen = now()
            if db.get(NodeEvent, event.event_id) is None:
                db.add(
                    NodeEvent(
                        event_id=event.event_id,
                        node_id=node_id,
                        type=event.type,
                        at=event.at,
                        payload=event.model_dump(mode="json"),
                    )
                )
                self._apply(db, event)
        self.client.publish(
            node_topic(node_id, "ack"),
            EventAck(event_ids=[event.event_id]).model_dump_json(),
            qos=1,
        )

    def _apply(self, db: Session, event: Any) -> None:
        if isinstance(event, CommandAck):
            cmd = db.get(OutboxCommand, event.command_id)
            if cmd is None or cmd.node_id != event.node_id:
                return
            cmd.acked_at = now()
            cmd.result = "acked" if event.accepted else "nacked"
            delivery = _delivery(db, cmd.play_id, event.node_id)
            if delivery is not None and event.accepted:
                advance(delivery, "acknowledged", event.at)
            elif delivery is not None:
                advance(delivery, "rejected", event.at, event.reason)
        elif isinstance(event, PlayEvent):
            delivery = _delivery(db, event.play_id, event.node_id)
            # a "failed" that was cut off mid-air is reported as interrupted, with its reason
            kind = "interrupted" if event.type == "failed" and event.interrupted else event.type
            if delivery is not None:
                advance(delivery, kind, event.at, event.reason)
        else:
            log.warning("node %s rejected a payload: %s", event.node_id, event.reason)

    def _on_chunk_request(self, node_id: str, msg: mqtt_client.Incoming) -> None:
        try:
            req = ChunkRequest.model_validate_json(msg.payload)
        except ValidationError:
            return
        topic = node_topic(node_id, "content")
        path = self.config.audio_dir / f"{req.sha256}.ogg"
        reply: Chunk | ChunkUnavailable
        try:
            reply = _read_chunk(path, req)
        except FileNotFoundError:
            reply = ChunkUnavailable(sha256=req.sha256, reason="no such audio on the controller")
        self.client.publish(
            topic, reply.model_dump_json(), qos=1, properties=mqtt_client.expiring(60)
        )


def _take_health(node: Node, state: NodeState, msg: mqtt_client.Incoming) -> None:
    """Copy what a live node reports about itself. An offline state carries none of it (the
    Last Will was written at connect time), so it never reaches here."""
    node.volume = state.volume
    node.signal_dbm = state.signal_dbm
    node.agent_version = state.agent_version
    # A retained state may be hours old, so only a fresh one says how far the node's clock is
    # from ours; the figure includes the one-way trip through the broker (milliseconds).
    if not msg.retained:
        received = datetime.fromtimestamp(msg.received_at, UTC)
        node.clock_offset_ms = (state.at - received).total_seconds() * 1000


def _delivery(db: Session, play_id: str | None, node_id: str) -> Delivery | None:
    if play_id is None:
        return None
    return db.scalar(
        select(Delivery).where(Delivery.play_id == play_id, Delivery.node_id == node_id)
    )


def _read_chunk(path: Path, req: ChunkRequest) -> Chunk:
    with path.open("rb") as fh:
        total = fh.seek(0, 2)
        fh.seek(req.offset)
        data = fh.read(req.length)
    return Chunk(
        sha256=req.sha256,
        offset=req.offset,
        total_size=total,
        chunk_sha256=hashlib.sha256(data).hexdigest(),
        data=base64.b64encode(data).decode(),
    )
