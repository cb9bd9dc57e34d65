"""One live session on a node: the jitter buffer and the playout that the player's sink reads.

Packets are put in as they arrive (the agent's worker, after protocol/live.py checked them);
the sink reads :meth:`LiveStream.blocks`, one frame per packet, in seq order. Frame ``seq`` is
due to sound at ``t0 + seq · frame + delay`` on the node's clock (chrony keeps it on the
controller's), the same instant on every point. A frame whose packet has not come by a little
before then is filled from the next packet's FEC copy when that one is here, else by libopus's
concealment; each run of such frames is a gap. No packet for ``quiet_s`` fades the session out
and ends it; so does the controller's stop (after its last packet) and the session's end.
Only the packets between now and their sounding time are held: memory does not grow with time.

A session may be played in parts: an emergency cuts it (it waits, then rejoins) or the agent
restarts (node_agent/live.py restores it). Each part starts from the first packet still due,
at the same shared playout time; :class:`LiveStats` adds the parts up and keeps each break.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from protocol.live import LivePacket, SessionClock
from protocol.messages import MAX_LIVE_BREAKS, LiveBreak, LiveBreakReason, LiveStartCommand

# How long before its sounding time a frame is decided (packet, FEC or concealment): the sink
# reads a little ahead of its clock, and decoding takes time.
LEAD_S = 0.1
# The first packet may take longer than a gap: the session opens before anyone speaks.
FIRST_PACKET_S = 30.0
# Packets held beyond this many are pruned of those already past their sounding time: only
# while a session waits (behind an emergency) does nothing else consume them.
PRUNE_AT = 128
StreamEnd = Literal["finished", "quiet"]
# finished(record, outcome, reason): how the session ended on this node; record is None when
# it never sounded. Called on the player's report thread.
Finished = Callable[[Any, str, str], None]


@dataclass
class LiveStats:
    packets_played: int = 0
    packets_lost: int = 0
    gaps: int = 0
    rejected: int = 0
    first_seq: int | None = None
    end: StreamEnd | None = None
    reason: str = ""
    # what the session's parts add up to on this point (epoch seconds on its clock)
    seconds: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    parts: int = 0
    breaks: list[LiveBreak] = field(default_factory=list)
    pending: tuple[LiveBreakReason, str, float | None] | None = None  # a break not yet over

    def begin_break(self, reason: LiveBreakReason, detail: str, since: float | None) -> None:
        """The session stopped sounding here and may come back (``since`` None: not known)."""
        if self.parts or self.started_at is not None:  # a session never heard has no break
            self.pending = (reason, detail[:300], since)

    def close_break(self, at: float, *, rejoined: bool) -> None:
        if self.pending is None:
            return
        reason, detail, since = self.pending
        self.pending = None
        if len(self.breaks) < MAX_LIVE_BREAKS:
            self.breaks.append(
                LiveBreak(
                    reason=reason,
                    detail=detail,
                    since=_utc(since) if since is not None else None,
                    seconds=round(max(0.0, at - since), 3) if since is not None else None,
                    rejoined=rejoined,
                )
            )

    def start_part(self, at: float) -> int:
        """A part begins sounding at ``at``; returns its number (0: the session's first)."""
        self.close_break(at, rejoined=True)
        part = self.parts
        self.parts += 1
        return part

    def end_part(self, started_at: float, ended_at: float, seconds: float) -> None:
        if self.started_at is None:
            self.started_at = started_at
        self.ended_at = ended_at
        self.seconds += seconds

    def saved(self) -> dict[str, Any]:
        """What a restart must not lose, as JSON (node_agent/store.py keeps it)."""
        return {
            "packets_played": self.packets_played,
            "packets_lost": self.packets_lost,
            "gaps": self.gaps,
            "rejected": self.rejected,
            "seconds": self.seconds,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "parts": self.parts,
            "breaks": [b.model_dump(mode="json") for b in self.breaks],
        }

    @classmethod
    def restored(cls, saved: dict[str, Any]) -> LiveStats:
        stats = cls(**{k: v for k, v in saved.items() if k != "breaks"})
        stats.breaks = [LiveBreak.model_validate(b) for b in saved.get("breaks", [])]
        return stats


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class LiveStream:
    def __init__(
        self,
        start: LiveStartCommand,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.start = start
        self._clock, self._monotonic = clock, monotonic
        self._cond = threading.Condition()
        self._packets: dict[int, bytes] = {}
        self._next = 0  # the first seq not yet decided
        self._last_seq: int | None = None  # set by the controller's stop or a last packet
        self._closed = False
        self._last_arrival = monotonic()
        self.frame = start.sample_rate * start.frame_ms // 1000
        self._decoder: Any = None  # audio.live_opus.LiveDecoder of the part on air
        self.stats = LiveStats()
        self.clock = SessionClock(start)
        self.finished: Finished = lambda _record, _outcome, _reason: None

    @property
    def play_id(self) -> str:
        return self.start.play_id

    @property
    def session_id(self) -> str:
        return self.start.session_id

    def sound_at(self, seq: int) -> float:
        """When frame ``seq`` sounds, in epoch seconds on this node's clock."""
        return self.clock.source_us(seq) / 1e6 + self.start.delay_ms / 1000

    # --- the agent's worker ---------------------------------------------------------------
    def put(self, packet: LivePacket) -> None:
        """Take a checked packet; raises PacketRejectedError if its time is not the session's."""
        with self._cond:
            self.clock.check(packet, round(self._clock() * 1e6))
            self._last_arrival = self._monotonic()
            if packet.last:
                self._last_seq = packet.seq
            if packet.seq >= self._next:
                self._packets[packet.seq] = packet.opus
            if len(self._packets) > PRUNE_AT:
                now = self._clock()
                self._packets = {
                    s: p for s, p in self._packets.items() if self.sound_at(s) - LEAD_S > now
                }
            self._cond.notify_all()

    def stop(self, last_seq: int | None, reason: str = "") -> None:
        """The controller ended the session: play up to ``last_seq`` (None: nothing more)."""
        with self._cond:
            self._last_seq = self._next - 1 if last_seq is None else last_seq
            self.stats.reason = reason
            self._cond.notify_all()

    def close(self) -> None:
        """Stop waiting: the node is shutting down, or the session was dropped unplayed."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # --- the player -----------------------------------------------------------------------
    def _quiet(self) -> bool:
        limit = self.start.quiet_s if self.clock.t0_us is not None else FIRST_PACKET_S
        return self._monotonic() - self._last_arrival >= limit

    def _over(self) -> bool:
        return self._last_seq is not None and self._next > self._last_seq

    def wait_first(self, cut: threading.Event) -> int | None:
        """The seq to start playing from: the first packet still due in time. None when the
        session ends, goes quiet or is cut before one comes (``stats`` says why)."""
        with self._cond:
            while not cut.is_set():
                now = self._clock()
                due = sorted(s for s in self._packets if self.sound_at(s) - LEAD_S > now)
                if due:
                    from audio.live_opus import LiveDecoder  # numpy/ctypes: when it sounds

                    # made now, before the sink's clock runs: each part decodes afresh
                    self._decoder = LiveDecoder(self.start.frame_ms)
                    self._next = due[0]
                    self.stats.first_seq = due[0]
                    self._packets = {s: p for s, p in self._packets.items() if s >= due[0]}
                    return due[0]
                if self._closed or self._over():
                    self.stats.reason = self.stats.reason or "the session ended before it began"
                    return None
                if self._quiet():
                    self.stats.reason = f"no live packets for {FIRST_PACKET_S:g} s"
                    return None
                self._cond.wait(0.1)
        return None

    def blocks(self) -> Iterator[np.ndarray]:
        """The session's audio, one frame per seq from ``wait_first``'s, until it ends (or is
        cut: a later part starts afresh with its own decoder)."""
        decoder = self._decoder
        assert decoder is not None, "blocks() before wait_first() found a packet"
        lost_run = False
        try:
            while True:
                with self._cond:
                    seq = self._next
                    if self._over() or self._closed or seq > self.start.max_seq:
                        self.stats.end = "finished"
                        return
                    deadline = self.sound_at(seq) - LEAD_S
                    while seq not in self._packets and not self._closed and not self._over():
                        left = deadline - self._clock()
                        if left <= 0:
                            break
                        self._cond.wait(min(left, 0.1))
                    opus = self._packets.pop(seq, None)
                    following = self._packets.get(seq + 1)
                    self._next = seq + 1
                    quiet = opus is None and self._quiet()
                    if opus is None and self._over():
                        self.stats.end = "finished"
                        return
                if opus is not None:
                    self.stats.packets_played += 1
                    lost_run = False
                    yield decoder.decode(opus)
                    continue
                self.stats.packets_lost += 1
                self.stats.gaps += not lost_run
                lost_run = True
                filled = decoder.recover(following) if following is not None else decoder.conceal()
                if quiet:  # the stream stopped: fade what concealment made, then end
                    self.stats.end = "quiet"
                    self.stats.reason = f"no live packets for {self.start.quiet_s:g} s"
                    yield filled * np.linspace(1.0, 0.0, len(filled), dtype=np.float32)
                    return
                yield filled
        finally:
            decoder.close()
