"""Live sessions on a node: opened by the controller's signed command, fed from a stream topic.

The node subscribes to ``stream/<id>`` only once a verified :class:`LiveStartCommand` names it
(the broker would let it read any stream; it reads none it was not told to), checks every
packet against that command (protocol/live.py) and hands what passes to the session's
:class:`~node_agent.live_stream.LiveStream`, which the player plays. Packets that fail are
counted and the first reason of each session is reported as a rejected payload, so a flood of
forged packets costs one event, not thousands. When the session ends on the node it
unsubscribes and reports a :class:`LiveReport` (the proof of play).

An open session is kept in the node's store with its start command: an agent that restarts
mid-session (an update, a crash, a power blip) restores it while the command is valid and
rejoins from the first packet still due, at the shared playout time; its report adds up the
parts and shows the break. A stop saves where the session stood instead of reporting it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node_agent.events import EventReporter
from node_agent.live_stream import LiveStats, LiveStream
from node_agent.player import Player
from node_agent.sinks import PlaybackRecord
from node_agent.store import NodeStore
from protocol.live import PacketRejectedError, SeqWindow, decode_packet
from protocol.messages import LiveOutcome, LiveReport, LiveStartCommand, LiveStopCommand
from protocol.signing import load_public_key
from protocol.topics import stream_topic

log = logging.getLogger(__name__)
DONE_KEPT = 100


class _Open:
    def __init__(self, stream: LiveStream, key: Ed25519PublicKey) -> None:
        self.stream, self.key = stream, key
        self.window = SeqWindow()
        self.reported_rejection = False


class LiveSessions:
    def __init__(
        self,
        node_id: str,
        player: Player,
        reporter: EventReporter,
        *,
        subscribe: Callable[[str], None],
        unsubscribe: Callable[[str], None],
        store: NodeStore | None = None,
    ) -> None:
        self._node_id, self._player, self._reporter = node_id, player, reporter
        self._subscribe, self._unsubscribe = subscribe, unsubscribe
        self._store = store
        self._stopping = False  # the agent stops: sessions are saved, not reported
        self._lock = threading.Lock()  # the worker opens, the player's report thread closes
        self._open: dict[str, _Open] = {}  # by stream id
        # session ids ended here, newest last: a start command re-sent after its session ended
        # here is not reopened (the outbox re-sends until acknowledged)
        self._done: dict[str, None] = {}

    def topics(self) -> list[str]:
        """The stream topics to (re)subscribe to after a reconnect."""
        with self._lock:
            return [stream_topic(sid) for sid in self._open]

    def on_start(self, command: LiveStartCommand, expires_at: datetime | None = None) -> str:
        """Open the session; returns why not ("" when it opened or was already open)."""
        refused = self._open_stream(command, None)
        if not refused and self._store is not None and expires_at is not None:
            self._store.add_live(command, expires_at)
        return refused

    def restore(self) -> int:
        """Reopen the sessions open when the agent last stopped; how many."""
        if self._store is None:
            return 0
        restored = 0
        for command, saved in self._store.open_lives():
            try:
                stats = LiveStats.restored(json.loads(saved))
            except (ValueError, TypeError):  # an older agent's row: start afresh, say so
                log.warning("live %s: saved state unreadable, counted afresh", command.play_id)
                stats = LiveStats()
            since = stats.ended_at if stats.ended_at is not None else None
            stats.begin_break("restart", "the point's agent restarted", since)
            if stats.pending is None:  # a part sounded before a hard stop saved nothing
                stats.pending = ("restart", "the point's agent restarted", None)
            if not self._open_stream(command, stats):
                restored += 1
                log.info("live %s restored after a restart", command.play_id)
        return restored

    def _open_stream(self, command: LiveStartCommand, stats: LiveStats | None) -> str:
        with self._lock:
            if command.session_id in self._done or any(
                o.stream.session_id == command.session_id for o in self._open.values()
            ):
                return ""
            try:
                key = load_public_key(command.packet_key)
            except ValueError as exc:
                return f"bad packet key: {exc}"
            stream = LiveStream(command)
            if stats is not None:
                stream.stats = stats
            stream.finished = lambda record, outcome, reason: self._finished(
                command, record, outcome, reason
            )
            self._open[command.stream_id] = _Open(stream, key)
        self._subscribe(stream_topic(command.stream_id))
        self._player.go_live(stream)
        return ""

    def on_stop(self, command: LiveStopCommand) -> None:
        with self._lock:
            found = [o for o in self._open.values() if o.stream.session_id == command.session_id]
        for opened in found:
            opened.stream.stop(command.last_seq, command.reason)
            self._player.drop_live(opened.stream, command.reason or "live session ended")

    def on_packet(self, topic: str, stream_id: str, payload: bytes) -> None:
        with self._lock:
            opened = self._open.get(stream_id)
        if opened is None:
            return  # a stream this node no longer plays: its packets are still in flight
        try:
            packet = decode_packet(payload, opened.stream.start, opened.key)
            opened.window.take(packet.seq)
            opened.stream.put(packet)
        except PacketRejectedError as exc:
            opened.stream.stats.rejected += 1
            if not opened.reported_rejection:
                opened.reported_rejection = True
                self._reporter.reject(topic, f"live packet refused: {exc}")

    def close_all(self) -> None:
        """The agent stops: from now on sessions ending here are saved, not reported (the
        player's stop cuts them; a restart restores them)."""
        with self._lock:
            self._stopping = True

    def save_all(self) -> None:
        """After the player stopped: save the sessions it never got to report (those waiting
        behind an emergency), so a restart restores them with what they carried."""
        if self._store is None:
            return
        with self._lock:
            left = list(self._open.values())
        for opened in left:
            saved = json.dumps(opened.stream.stats.saved())
            self._store.save_live(opened.stream.session_id, saved)

    def _finished(
        self,
        command: LiveStartCommand,
        record: PlaybackRecord | None,
        outcome: str,
        reason: str,
    ) -> None:
        with self._lock:
            stopping = self._stopping and self._store is not None
            opened = self._open.pop(command.stream_id, None)
            if not stopping:
                self._done[command.session_id] = None
                while len(self._done) > DONE_KEPT:
                    del self._done[next(iter(self._done))]
        self._unsubscribe(stream_topic(command.stream_id))
        stats = opened.stream.stats if opened else LiveStats()
        if stopping:
            assert self._store is not None
            self._store.save_live(command.session_id, json.dumps(stats.saved()))
            log.info("live %s saved: the agent stops (%s)", command.play_id, reason)
            return
        if self._store is not None:
            self._store.end_live(command.session_id)
        kind: LiveOutcome = outcome if outcome in ("finished", "quiet", "interrupted") else "failed"  # type: ignore[assignment]
        if stats.pending is not None:  # it ended while this point waited to rejoin
            reason = reason or stats.pending[1]
            stats.close_break(time.time(), rejoined=False)
            if stats.started_at is not None:
                kind = "interrupted"
        report = LiveReport(
            node_id=self._node_id,
            play_id=command.play_id,
            session_id=command.session_id,
            outcome=kind,
            started_at=_utc(stats.started_at) if stats.started_at is not None else None,
            ended_at=_utc(stats.ended_at) if stats.ended_at is not None else None,
            seconds=round(stats.seconds, 3),
            packets_played=stats.packets_played,
            packets_lost=stats.packets_lost,
            gaps=stats.gaps,
            rejected_packets=stats.rejected,
            reason=reason[:500],
            breaks=stats.breaks,
        )
        log.info("live %s ended here: %s %s", command.play_id, kind, reason)
        self._reporter.send(report)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
