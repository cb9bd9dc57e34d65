"""The dispatcher: one worker thread that runs delivery's three jobs, commands to nodes
(``outbox``), events from nodes (``node_events``) and audio chunks (``chunks``), over a
``Publisher``.

paho's thread only enqueues (see protocol.mqtt_client). Each node's messages pass its token
bucket (``node_limits``) before they are parsed, so one node's flood cannot hold up the rest.
A commit that queued commands wakes the worker (``outbox.wake_on_commit``); a periodic pass
re-sends what nodes have not acknowledged and catches anything a wake missed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy.orm import Session

from controller.config import ControllerConfig
from controller.db import Database
from controller.delivery import chunks, node_events, outbox
from controller.delivery.node_limits import NodeRateLimit
from controller.delivery.publisher import MqttPublisher, Publisher
from controller.models import Bulletin, Delivery, now
from protocol import mqtt_client
from protocol.messages import (
    EVENT_ADAPTER,
    ChunkRequest,
    CommandBody,
    ControlCommand,
    EventAck,
    NodeState,
)
from protocol.topics import FROM_NODE, NodeChannel, all_nodes_filter, node_topic, parse_node_topic

log = logging.getLogger(__name__)
PASS_EVERY_S = 5.0  # the periodic pass, at most this far apart


@dataclass(frozen=True)
class Wake:
    """Send what is due now (a commit queued commands)."""


@dataclass(frozen=True)
class Stop:
    """Wake the worker so it sees it must stop."""


WAKE, STOP = Wake(), Stop()
# What the worker takes from its inbox: the link's reports and its own wake-ups.
Item = mqtt_client.Link | Wake | Stop


class Dispatcher:
    def __init__(
        self,
        config: ControllerConfig,
        db: Database,
        key: Ed25519PrivateKey,
        *,
        publisher: Publisher | None = None,
    ) -> None:
        """``publisher`` replaces the MQTT one (tests); the inbox is fed by MQTT either way."""
        self.config, self.db, self.key = config, db, key
        self.inbox: queue.Queue[Item] = queue.Queue()
        self.chunks = chunks.ChunkCache(config.audio_dir, config.chunk_cache_bytes)
        self.limits = NodeRateLimit(config.node_messages_per_s, config.node_message_burst)
        self.session = mqtt_client.Session(
            client_id=config.mqtt_user,  # the broker binds each client id to its account
            username=config.mqtt_user,
            password=config.mqtt_password,
            host=config.mqtt_host,
            port=config.mqtt_port,
            subscriptions=tuple(all_nodes_filter(ch) for ch in FROM_NODE),
            session_expiry_s=24 * 3600,
        )
        self.client = mqtt_client.make_client(self.session, self.inbox.put)
        self.publisher = publisher or MqttPublisher(self.client)
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)
        self._unhook: Callable[[], None] | None = None
        self._handlers: dict[NodeChannel, Callable[[str, mqtt_client.Incoming], None]] = {
            "state": self._on_state,
            "events": self._on_event,
            "content/req": self._on_chunk_request,
        }

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._unhook = outbox.wake_on_commit(self.db.sessions, self.wake)
        mqtt_client.start(self.client, self.session)
        self._thread.start()

    def stop(self) -> None:
        if self._unhook is not None:
            self._unhook()
        self._stop.set()
        self.inbox.put(STOP)
        self._thread.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()

    def wake(self) -> None:
        """Send what is due now instead of at the next periodic pass."""
        self.inbox.put(WAKE)

    # --- commands, in the caller's transaction; they go out once it commits ------------------
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
        """Sign one play command per node and store it with its delivery. ``play_id`` names
        the airing; a bulletin may have many."""
        outbox.queue_play(
            db,
            self.key,
            bulletin,
            node_ids,
            play_id=play_id,
            play_at=play_at,
            valid_until=valid_until,
            window_end=window_end,
        )

    def queue_cancel(self, db: Session, deliveries: list[Delivery], reason: str) -> list[str]:
        """Cancel these plays on every node at once; returns the nodes told."""
        return outbox.queue_cancel(db, self.key, deliveries, reason)

    def queue_control(
        self, db: Session, command: ControlCommand, node_id: str, ttl: timedelta
    ) -> CommandBody:
        """Sign a control command (volume, test tone, stop) for one node; like a play, it is
        re-sent until the node answers or ``ttl`` runs out."""
        return outbox.queue_command(
            db, self.key, command, node_id, play_id=None, expires_at=now() + ttl
        )

    # --- the worker ---------------------------------------------------------------------------
    def _run(self) -> None:
        last_pass = 0.0
        while not self._stop.is_set():
            item: Item | None
            try:
                item = self.inbox.get(timeout=0.5)
            except queue.Empty:
                item = None
            try:
                if item is not None:
                    self.handle(item)
                if time.monotonic() - last_pass > min(self.config.resend_interval_s, PASS_EVERY_S):
                    last_pass = time.monotonic()
                    self.periodic_pass()
            except Exception:  # a bad message or a transient DB error must not stop delivery
                log.exception("dispatcher error handling %s", type(item).__name__)

    def handle(self, item: Item) -> None:
        """Act on one inbox item (the worker's loop; tests call it directly)."""
        match item:
            case mqtt_client.Connected():
                self.connected.set()
                self._send_due(force=True)
            case mqtt_client.Disconnected() | mqtt_client.ConnectFailed():
                self.connected.clear()
            case Wake():
                self._send_due()
            case mqtt_client.Incoming():
                self._route(item)
            case Stop():
                pass  # only wakes the loop, which then sees the stop flag

    def periodic_pass(self) -> None:
        """Re-send what is unacknowledged and expire what can no longer play."""
        if self.connected.is_set():
            self._send_due()
        outbox.expire_deliveries(self.db, self.config.expiry_grace_s)

    def _send_due(self, node_id: str | None = None, *, force: bool = False) -> None:
        outbox.send_due(
            self.db, self.publisher, self.config.resend_interval_s, node_id=node_id, force=force
        )

    def _route(self, msg: mqtt_client.Incoming) -> None:
        parsed = parse_node_topic(msg.topic)
        if parsed is None or parsed[1] not in self._handlers:
            log.warning("ignoring message on unexpected topic %s", msg.topic)
            return
        node_id, channel = parsed
        if not self.limits.allow(node_id):
            return  # a flood: dropped before it costs a parse or a transaction
        try:
            self._handlers[channel](node_id, msg)
        except ValidationError as exc:
            log.warning("bad %s from %s: %s", channel, node_id, exc.errors()[0]["msg"])

    def _on_state(self, node_id: str, msg: mqtt_client.Incoming) -> None:
        state = NodeState.model_validate_json(msg.payload)
        if node_events.take_state(
            self.db, node_id, state, retained=msg.retained, received_at=msg.received_at
        ):
            self._send_due(node_id=node_id, force=True)

    def _on_event(self, node_id: str, msg: mqtt_client.Incoming) -> None:
        event = EVENT_ADAPTER.validate_json(msg.payload)
        if node_events.take_event(self.db, node_id, event):
            ack = EventAck(event_ids=[event.event_id])
            self.publisher.publish(node_topic(node_id, "ack"), ack.model_dump_json())

    def _on_chunk_request(self, node_id: str, msg: mqtt_client.Incoming) -> None:
        reply = self.chunks.reply(ChunkRequest.model_validate_json(msg.payload))
        self.publisher.publish(
            node_topic(node_id, "content"), reply, expiry_s=chunks.REPLY_EXPIRY_S
        )
