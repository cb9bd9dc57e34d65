"""What the node tells the controller: acks, play events and rejections, through a durable outbox.

Every event is stored before it is published and re-sent until the controller acknowledges it
(``ack``), so nothing made while offline, or lost in the broker's queues, is lost for good.
Called from the agent's worker and from the player's report thread.

What one commit makes (a command's ack with its ``received`` and ``ready``) goes out after it
as one message, and a re-send pages through the outbox in batches, when the controller has said
it reads them; otherwise one message each, as every controller reads (protocol/event_batch.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import groupby

from pydantic import ValidationError

from node_agent.store import NodeStore
from protocol import event_batch
from protocol.messages import (
    CommandAck,
    EventAck,
    LiveReport,
    PlayEvent,
    PlayEventKind,
    RejectedPayload,
    UpdateEvent,
    UpdateOutcome,
)
from protocol.topics import node_topic

log = logging.getLogger(__name__)

Event = CommandAck | PlayEvent | RejectedPayload | UpdateEvent | LiveReport
Publish = Callable[[str, bytes], object]  # (topic, payload), at QoS 1

# The play's state in the node's store once an event about it is out.
_STATE_AFTER = {
    "started": "playing",
    "interrupted": "ready",  # back in the player's queue; a restart plays it again
    "finished": "done",
    "failed": "failed",
    "cancelled": "cancelled",
}
# What ends an item on air; its time is stamped on the start's timeline (``EventReporter._stamp``).
_ENDS = frozenset({"finished", "interrupted", "failed", "cancelled"})
_STARTS_KEPT = 64  # items started and not yet ended: one on air, a few cut off and waiting
_BATCH = 100  # the store's page of due events
# A reason is a sentence about a message, never the message: a refusal may quote what it
# refused (a field's name, say), and an event over the broker's packet limit would cut the
# node off, so reasons and topics are cut to this many characters.
REASON_CHARS = 300


def bounded(text: str) -> str:
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


class EventReporter:
    def __init__(
        self,
        node_id: str,
        store: NodeStore,
        publish: Publish,
        online: Callable[[], bool],
        correction: Callable[[], float] = lambda: 0.0,
    ) -> None:
        """``correction()``: seconds to take off the node's clock for the controller's (not 0
        only while the node knows its clock is wrong), so a report says when a play really
        started and ended."""
        self.node_id = node_id
        self._correction = correction
        # play id → (its start in the controller's time, the same moment on the monotonic clock)
        self._starts: dict[str, tuple[float, float]] = {}
        self._store = store
        self._publish = publish
        self._online = online
        self._topic = node_topic(node_id, "events")
        # What this thread's open store transaction made, published together once it commits
        # (the worker and the player's thread each have their own transactions).
        self._made = threading.local()
        self.batches = False  # the latest EventAck said the controller reads batches
        self._batches_said_at = 0.0  # when (wall clock, as the outbox's sent times) it last did

    def send(self, event: Event) -> None:
        """Every event goes through the durable outbox first, then out if we are online: once
        it is committed (with whatever else the store's open transaction holds), and marked
        sent in the same write that stores it."""
        payload = event.model_dump_json().encode()
        online = self._online()
        self._store.add_event(event.event_id, payload, sent_at=time.time() if online else 0.0)
        if not online:
            return
        opened = self._store.open_transaction()
        if opened is None:
            self._publish_all([payload], batch=False)
            return
        # The first event of this commit: one publish after it, for every event it makes. A
        # list left by a transaction that rolled back has another number, and is dropped.
        if getattr(self._made, "opened", None) != opened:
            self._made.opened, self._made.payloads = opened, []
            self._store.after_commit(self._publish_made)
        self._made.payloads.append(payload)

    def _publish_made(self) -> None:
        made, self._made.payloads, self._made.opened = self._made.payloads, [], None
        self._publish_all(made, batch=self.batches)

    def _publish_all(self, payloads: list[bytes], *, batch: bool) -> None:
        for message in event_batch.pack(payloads) if batch else payloads:
            self._publish(self._topic, message)

    def play(
        self,
        kind: PlayEventKind,
        play_id: str,
        *,
        reason: str = "",
        interrupted: bool = False,
        at: float | None = None,
    ) -> None:
        """Record what became of a play and report it."""
        reason = bounded(reason)  # it may quote the controller's or the decoder's words
        state = _STATE_AFTER.get(kind)
        when = datetime.fromtimestamp(self._stamp(kind, play_id, at), UTC)
        event = PlayEvent(
            node_id=self.node_id,
            type=kind,
            play_id=play_id,
            reason=reason,
            interrupted=interrupted,
            at=when,
        )
        with self._store.transaction():  # the play's state and its event: one commit
            if state:
                self._store.set_play_state(play_id, state, reason)
            self.send(event)
        if kind == "failed":
            log.warning("bulletin %s failed: %s", play_id, reason)

    def _stamp(self, kind: PlayEventKind, play_id: str, at: float | None) -> float:
        """``at`` (this node's clock; now when None) in the controller's time. An item's end is
        its start plus the monotonic time between them: the correction can change while it
        plays (the first measurement after a boot with a stale clock, a step), and taken at
        each end it would make an item end before it started, or last hours."""
        wall, mono = time.time(), time.monotonic()
        at = wall if at is None else at
        at_mono = mono + (at - wall)
        if kind == "started":
            stamp = at - self._correction()
            self._starts.pop(play_id, None)  # a resume starts again: the newest start counts
            self._starts[play_id] = (stamp, at_mono)
            while len(self._starts) > _STARTS_KEPT:
                del self._starts[next(iter(self._starts))]
            return stamp
        start = self._starts.pop(play_id, None) if kind in _ENDS else None
        if start is None:  # not started by this run of the agent
            return at - self._correction()
        return start[0] + max(0.0, at_mono - start[1])

    def command_ack(self, command_id: str, *, accepted: bool, reason: str = "") -> None:
        self.send(
            CommandAck(
                node_id=self.node_id,
                command_id=command_id,  # from a signed body: the controller's own id
                accepted=accepted,
                reason=bounded(reason),
            )
        )

    def update(self, outcome: UpdateOutcome, version: str, from_version: str, reason: str) -> None:
        log.log(
            logging.INFO if outcome == "updated" else logging.WARNING,
            "update to %s: %s %s",
            version,
            outcome,
            reason,
        )
        self.send(
            UpdateEvent(
                node_id=self.node_id,
                outcome=outcome,
                version=version[:40],
                from_version=from_version[:40],
                reason=bounded(reason),
            )
        )

    def reject(self, topic: str, reason: str) -> None:
        topic, reason = bounded(topic), bounded(reason)
        log.warning("rejected a message on %s: %s", topic, reason)
        self.send(RejectedPayload(node_id=self.node_id, topic=topic, reason=reason))

    def on_ack(self, topic: str, payload: bytes) -> None:
        """The controller has these events: stop re-sending them."""
        try:
            ack = EventAck.model_validate_json(payload)
        except ValidationError as exc:
            self.reject(topic, f"malformed event ack: {exc.errors()[0]['msg']}")
            return
        self.batches = ack.batches is True  # an older controller leaves it out
        if self.batches:
            self._batches_said_at = time.time()
        self._store.ack_events(ack.event_ids)

    def flush(self, older_than: float) -> None:
        """Re-send what is unacknowledged and was last sent before ``older_than``."""
        while page := self._store.due_outbox(older_than, limit=_BATCH):
            self._publish_page(page)
            if len(page) < _BATCH:
                break

    def _publish_page(self, page: list[tuple[str, bytes, float]]) -> None:
        """In batches what was last sent before the controller last said it reads them (or
        never sent); one by one what went out since and was not acknowledged, which may be a
        batch that a controller without batches dropped (protocol/event_batch.py)."""
        said = self._batches_said_at if self.batches else 0.0
        # in the outbox's order, so the controller takes each play's events as they were made
        for batch, run in groupby(page, key=lambda row: row[2] < said):
            self._publish_all([payload for _, payload, _ in run], batch=batch)
        self._store.mark_sent([e for e, _, _ in page], time.time())
