"""The dispatcher: one worker thread that runs delivery's three jobs, commands to nodes
(``outbox``), events from nodes (``node_events``) and audio chunks (``chunks``), over a
``Publisher``.

paho's thread only enqueues (see protocol.mqtt_client). The worker takes what waits in its
inbox in batches (up to ``BATCH_MAX`` items) and applies the batch's node states and events in
one transaction (``intake``). Each node's messages pass its token bucket (``node_limits``)
before they are parsed, so one node's flood cannot hold up the rest.
A commit that queued commands wakes the worker (``outbox.wake_on_commit``); a periodic pass
re-sends what nodes have not acknowledged and catches anything a wake missed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy.orm import Session

from controller.config import ControllerConfig
from controller.db import Database
from controller.delivery import chunks, outbox
from controller.delivery.intake import Report, acknowledgements, apply_reports
from controller.delivery.node_limits import NodeRateLimit
from controller.delivery.publisher import MqttPublisher, Publisher
from controller.models import Bulletin, Delivery, now
from controller.nodes import broker
from protocol import event_batch, mqtt_client
from protocol.limits import CONTROLLER_MAX_QUEUED, CONTROLLER_RECEIVE_MAXIMUM
from protocol.messages import (
    EVENT_BATCHES,
    EVENTS_TOPIC_ADAPTER,
    ChunkRequest,
    CommandBody,
    ControlCommand,
    EventBatch,
    NodeState,
)
from protocol.signing import key_id, public_key_b64
from protocol.timecheck import ANSWER_EVERY_S, STATE_ACK_EXPIRY_S, StateAck, sign_state_ack
from protocol.topics import FROM_NODE, NodeChannel, all_nodes_filter, node_topic, parse_node_topic

log = logging.getLogger(__name__)
PASS_EVERY_S = 5.0  # the periodic pass, at most this far apart
BATCH_MAX = 200  # inbox items taken at once: node reports applied in one transaction
# How long the worker holds a node's acknowledgements to send them with the next batches'.
# A point's command makes three event messages within milliseconds (its ack with `received`
# and `ready`, `started`, and at a point with nothing to play, `finished`), taken in two or
# three batches; each acknowledgement is a message through the broker, a parse at the point
# and a write of its store. An acknowledgement held back only keeps the events in the point's
# outbox a little longer: it re-sends them after `outbox_resend_s` (15 s), far beyond this.
ACK_HOLD_S = 0.5


@dataclass(frozen=True)
class Wake:
    """Send what is due now (a commit queued commands)."""


@dataclass(frozen=True)
class Room:
    """The broker acknowledged a message: audio pieces waiting for room may go."""


@dataclass(frozen=True)
class Stop:
    """Wake the worker so it sees it must stop."""


WAKE, ROOM, STOP = Wake(), Room(), Stop()
# What the worker takes from its inbox: the link's reports and its own wake-ups.
Item = mqtt_client.Link | Wake | Room | Stop


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
        self.key_id = key_id(public_key_b64(key))
        self._answered: dict[str, float] = {}  # node → monotonic time of its last state answer
        self._acks: dict[str, list[str]] = {}  # node → event ids committed, not yet acknowledged
        self._acks_since = 0.0  # monotonic time the oldest of them was committed
        self._clock: Callable[[], float] = time.monotonic  # the acknowledgements' (tests)
        self.inbox: queue.Queue[Item] = queue.Queue()
        self.chunks = chunks.ChunkCache(
            config.audio_dir, config.chunk_cache_bytes, release_dir=config.release_dir
        )
        self.wants = chunks.Wants()  # chunk requests of the batch, served once per piece
        self.limits = NodeRateLimit(config.node_messages_per_s, config.node_message_burst)
        # Two sessions, each its own account (the broker binds a client id to its account):
        # one sends, and is sent nothing; one reads what the nodes send, and sends nothing.
        # Mosquitto 2.0.11 loses its PUBACKs to a client once what it holds for that client has
        # overflowed (protocol.mqtt_client): on one session, one node's flood or a burst of
        # thousands of points' reports cost the controller the acknowledgements of what it
        # sent, a reconnection for them and, while it was away, all but 200 of what it was
        # sent (tests/controller/delivery/test_hostile_nodes.py). Now an overflow costs reads,
        # which the nodes send again.
        node_filters = tuple(all_nodes_filter(ch) for ch in FROM_NODE)
        self.session = mqtt_client.Session(
            client_id=config.mqtt_user,
            username=config.mqtt_user,
            password=config.mqtt_password,
            host=config.mqtt_host,
            port=config.mqtt_port,
            subscriptions=(),
            unsubscriptions=node_filters,  # the one session of the releases before
            session_expiry_s=24 * 3600,
            max_queued=CONTROLLER_MAX_QUEUED,  # an emergency to every point at once
        )
        reader = broker.reader_user(config.mqtt_user)
        self.reads = replace(
            self.session,
            client_id=reader,
            username=reader,
            subscriptions=node_filters,
            unsubscriptions=(),
            # every node's burst in flight at once, not 100 and a queue of 200 (protocol.limits)
            receive_maximum=CONTROLLER_RECEIVE_MAXIMUM,
        )
        # every message waits behind one the broker lost (paho's window): this one client
        # reconnects at each ACK_LOST_S, where thousands of points wait longer each time
        self.client = mqtt_client.make_client(self.session, self.inbox.put, ack_backoff=False)
        self.reader = mqtt_client.make_client(self.reads, self._on_read_link)
        self.publisher = publisher or MqttPublisher(self.client)
        self.connected = threading.Event()  # the sending session
        self.reading = threading.Event()  # the reading session
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)
        self._unhook: Callable[[], None] | None = None
        # Nodes whose latest live state named EVENT_BATCHES: their acks say this controller
        # reads batches (protocol/event_batch.py). Kept in memory: after a restart the broker
        # hands over every node's retained state again, and until then acks go without it.
        self.batching: set[str] = set()
        # how each channel's messages are parsed; states and events become reports
        self._readers: dict[NodeChannel, Callable[[str, mqtt_client.Incoming], list[Report]]] = {
            "state": self._read_state,
            "events": self._read_event,
            "content/req": self._on_chunk_request,
        }

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._unhook = outbox.wake_on_commit(self.db.sessions, self.wake)
        mqtt_client.start(self.client, self.session)
        mqtt_client.start(self.reader, self.reads)
        self._thread.start()

    def stop(self) -> None:
        if self._unhook is not None:
            self._unhook()
        self._stop.set()
        self.inbox.put(STOP)
        self._thread.join(timeout=10)
        for client in (self.client, self.reader):
            client.disconnect()
            client.loop_stop()

    def online(self) -> bool:
        """Both sessions are connected: the controller sends and hears the nodes."""
        return self.connected.is_set() and self.reading.is_set()

    def _on_read_link(self, link: mqtt_client.Link) -> None:
        """The reading session's reports (on its paho thread): messages go to the inbox."""
        if isinstance(link, mqtt_client.Incoming):
            self.inbox.put(link)
        elif isinstance(link, mqtt_client.Connected):
            self.reading.set()
        else:
            self.reading.clear()

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
        """Sign the play command once per group of nodes and store it with a delivery per
        node. ``play_id`` names the airing; a bulletin may have many."""
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
            try:
                wait = 0.5 if not self._acks else ACK_HOLD_S - self._acks_age()
                self.handle_batch(self.next_batch(timeout=max(wait, 0.0)), ack_after=ACK_HOLD_S)
                if time.monotonic() - last_pass > min(self.config.resend_interval_s, PASS_EVERY_S):
                    last_pass = time.monotonic()
                    self.periodic_pass()
            except Exception:  # a transient DB error must not stop delivery
                log.exception("dispatcher: worker pass failed")
        self._send_acks(after=0.0)  # what was stored before the stop: not re-sent by the nodes

    def next_batch(self, timeout: float) -> list[Item]:
        """What waits in the inbox, up to ``BATCH_MAX`` items; waits ``timeout`` for the first."""
        try:
            items = [self.inbox.get(timeout=timeout)]
        except queue.Empty:
            return []
        while len(items) < BATCH_MAX:
            try:
                items.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        return items

    def handle(self, item: Item) -> None:
        """Act on one inbox item (tests call it directly)."""
        self.handle_batch([item])

    def handle_batch(self, items: Sequence[Item], *, ack_after: float = 0.0) -> None:
        """Act on inbox items in their order: node reports gathered and applied in one
        transaction, before any other item; the batch's wake-ups make one send. One item that
        fails is logged and costs only itself. The events stored are acknowledged at the end,
        or (``ack_after``, the worker's :data:`ACK_HOLD_S`) once the oldest of those waiting
        is that old, together with later batches' (one message per node, not one per batch)."""
        reports: list[Report] = []
        woken = False
        for item in items:
            try:
                if isinstance(item, mqtt_client.Incoming):
                    reports += self._read(item)
                    continue
                if isinstance(item, Room):
                    continue  # the pieces waiting are served at the batch's end
                self._settle(reports)
                reports = []
                if isinstance(item, Wake):
                    if woken:
                        continue  # every commit it stands for is in; one send covers them all
                    woken = True
                self._control(item)
            except Exception:  # a bad message or a transient DB error must not stop delivery
                log.exception("dispatcher error handling %s", type(item).__name__)
        self._settle(reports)
        self._send_acks(after=ack_after)
        try:
            self.wants.serve(self.chunks, self.publisher, wake=lambda: self.inbox.put(ROOM))
        except Exception:  # the nodes ask again after their timeout
            log.exception("dispatcher: serving chunks")

    def _control(self, item: Item) -> None:
        match item:
            case mqtt_client.Connected():
                self.connected.set()
                self._send_due(force=True)
            case mqtt_client.Disconnected() | mqtt_client.ConnectFailed():
                self.connected.clear()
            case Wake():
                self._send_due()
            case Stop() | mqtt_client.Incoming():
                pass  # a stop only wakes the loop, which then sees the stop flag

    def periodic_pass(self) -> None:
        """Re-send what is unacknowledged and expire what can no longer play."""
        if self.connected.is_set():
            self._send_due()
            # counting also forgets what was acknowledged and notices an acknowledgement lost
            # (``protocol.mqtt_client.Client``) when no audio piece waits to count it
            self.publisher.unacknowledged()
        outbox.expire_deliveries(self.db, self.config.expiry_grace_s)

    def _send_due(self, node_ids: Sequence[str] | None = None, *, force: bool = False) -> None:
        outbox.send_due(
            self.db, self.publisher, self.config.resend_interval_s, node_ids=node_ids, force=force
        )

    def _settle(self, reports: list[Report]) -> None:
        """Apply ``reports`` in one transaction, then keep the events it stored to acknowledge
        (:meth:`_send_acks`) and send what the nodes that came back missed."""
        applied = apply_reports(self.db, reports)  # logs what it could not apply
        if applied.acks and not self._acks:
            self._acks_since = self._clock()
        for node_id, event_ids in applied.acks.items():
            self._acks.setdefault(node_id, []).extend(event_ids)
        try:
            self._answer_states(reports)
            if applied.back_online:
                self._send_due(list(applied.back_online), force=True)
        except Exception:  # nodes re-send what was not acknowledged; the pass re-sends commands
            log.exception("dispatcher: acknowledging or sending after %d reports", len(reports))

    def _acks_age(self) -> float:
        return self._clock() - self._acks_since

    def _send_acks(self, *, after: float) -> None:
        """Acknowledge the events stored, once the oldest waiting is ``after`` seconds old."""
        if not self._acks or self._acks_age() < after:
            return
        waiting, self._acks = self._acks, {}
        try:
            for node_id, event_ids in waiting.items():
                for ack in acknowledgements(event_ids, batches=node_id in self.batching):
                    # without ``batches`` for an agent that does not know the field
                    payload = ack.model_dump_json(exclude_none=True)
                    self.publisher.publish(node_topic(node_id, "ack"), payload)
        except Exception:  # the nodes re-send what was not acknowledged, and it is stored once
            log.exception("dispatcher: acknowledging the events of %d nodes", len(waiting))

    def _answer_states(self, reports: list[Report]) -> None:
        """Tell each node that sent a fresh state when it reached us (signed), so it can tell
        how far its clock is from ours (protocol/timecheck.py), once per ``ANSWER_EVERY_S``
        per node at most. A retained copy may be hours
        old, and an offline state is the broker's Last Will: neither measures anything."""
        for r in reports:
            if isinstance(r.body, NodeState) and not r.retained and r.body.status != "offline":
                mono, last = time.monotonic(), self._answered.get(r.node_id)
                if last is not None and mono - last < ANSWER_EVERY_S:
                    continue
                self._answered[r.node_id] = mono
                received = datetime.fromtimestamp(r.received_at, UTC)
                ack = StateAck(node_id=r.node_id, state_at=r.body.at, received_at=received)
                self.publisher.publish(
                    node_topic(r.node_id, "ack"),
                    sign_state_ack(self.key, self.key_id, ack).model_dump_json(),
                    expiry_s=STATE_ACK_EXPIRY_S,
                )

    def _read(self, msg: mqtt_client.Incoming) -> list[Report]:
        parsed = parse_node_topic(msg.topic)
        if parsed is None or parsed[1] not in self._readers:
            log.warning("ignoring message on unexpected topic %s", msg.topic)
            return []
        node_id, channel = parsed
        if not self.limits.allow(node_id):
            return []  # a flood: dropped before it costs a parse or a transaction
        try:
            return self._readers[channel](node_id, msg)
        except ValidationError as exc:
            log.warning("bad %s from %s: %s", channel, node_id, exc.errors()[0]["msg"])
            return []

    def _read_state(self, node_id: str, msg: mqtt_client.Incoming) -> list[Report]:
        state = NodeState.model_validate_json(msg.payload)
        if state.status != "offline":  # the Last Will names no capabilities
            if EVENT_BATCHES in state.capabilities:
                self.batching.add(node_id)
            else:  # an agent rolled back to a release from before batches
                self.batching.discard(node_id)
        return [Report(node_id, state, retained=msg.retained, received_at=msg.received_at)]

    def _read_event(self, node_id: str, msg: mqtt_client.Incoming) -> list[Report]:
        """One event, or a batch of them (protocol/event_batch.py): its first event took the
        message's token, each other one takes its own; what the bucket cannot hold is dropped
        unread (the node re-sends it), and each bad entry is reported and costs only itself."""
        body = EVENTS_TOPIC_ADAPTER.validate_json(msg.payload)
        if not isinstance(body, EventBatch):
            return [Report(node_id, body)]
        raw = body.events[: 1 + self.limits.take(node_id, len(body.events) - 1)]
        reports: list[Report] = []
        for k, entry in enumerate(event_batch.entries(raw)):
            if isinstance(entry, ValidationError):
                log.warning("bad event %d of a batch from %s: %s", k, node_id, _first(entry))
            else:
                reports.append(Report(node_id, entry))
        return reports

    def _on_chunk_request(self, node_id: str, msg: mqtt_client.Incoming) -> list[Report]:
        """Gathered with the batch's other requests: each piece goes out once, for all."""
        self.wants.add(node_id, ChunkRequest.model_validate_json(msg.payload))
        return []


def _first(exc: ValidationError) -> str:
    """The first of ``exc``'s errors, where it is and what: enough for a log line."""
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])
