"""Plays the node's ready bulletins at their absolute start times, from its own clock.

A single thread owns the sink and the amplifier relay: it sleeps until the next item's pre-roll,
switches the amplifier on, loads the audio, waits for the exact start, plays, and switches the
amplifier off after the post-roll when nothing else follows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from node_agent.relay import AmplifierRelay
from node_agent.sinks import AudioSink, SinkError
from protocol.messages import PlayCommand

log = logging.getLogger(__name__)

Emit = Callable[..., None]  # emit(kind, play_id, reason="", interrupted=False, at=None)
Loader = Callable[[Path], tuple[np.ndarray, int]]


class Player:
    def __init__(
        self,
        sink: AudioSink,
        relay: AmplifierRelay,
        *,
        audio_path: Callable[[str], Path],
        load: Loader,
        emit: Emit,
        on_playing: Callable[[str | None], None],
        preroll_s: float,
        postroll_s: float,
    ) -> None:
        self.sink, self.relay = sink, relay
        self._audio_path, self._load, self._emit = audio_path, load, emit
        self._on_playing = on_playing
        self.preroll_s, self.postroll_s = preroll_s, postroll_s
        self._queue: dict[str, PlayCommand] = {}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._interrupt = threading.Event()
        self._current: str | None = None
        self._relay_off_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="player", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._interrupt.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=5)
        if self.relay.is_on:
            self.relay.off()

    def add(self, command: PlayCommand) -> None:
        with self._cond:
            self._queue[command.play_id] = command
            self._cond.notify_all()

    def cancel(self, play_id: str) -> str | None:
        """Drop a queued item or stop the playing one; says which it was (None: unknown)."""
        with self._cond:
            found = "queued" if self._queue.pop(play_id, None) is not None else None
            if self._current == play_id:
                self._interrupt.set()
                found = "playing"
            self._cond.notify_all()
        return found

    # --- the thread ---------------------------------------------------------------------------
    def _next(self) -> PlayCommand | None:
        if not self._queue:
            return None
        return min(self._queue.values(), key=_start_epoch)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                item = self._next()
                now = time.time()
                wake = _start_epoch(item) - self.preroll_s if item else None
                if item is None or (wake is not None and wake > now):
                    timeout = (wake - now) if wake is not None else None
                    if self._relay_off_at is not None:
                        off_in = self._relay_off_at - now
                        if off_in <= 0:
                            self.relay.off()
                            self._relay_off_at = None
                        else:
                            timeout = off_in if timeout is None else min(timeout, off_in)
                    self._cond.wait(timeout=min(timeout, 1.0) if timeout is not None else 1.0)
                    continue
                del self._queue[item.play_id]
                self._current = item.play_id
                self._interrupt.clear()
            try:
                self._play(item)
            finally:
                with self._cond:
                    self._current = None
                self._relay_off_at = time.time() + self.postroll_s
                self._on_playing(None)

    def _play(self, item: PlayCommand) -> None:
        bid = item.play_id
        if not self.relay.is_on:
            self.relay.on()
        self._relay_off_at = None
        try:
            samples, rate = self._load(self._audio_path(item.audio.sha256))
        except Exception as exc:  # any decoder failure is reported, never fatal to the node
            log.exception("cannot load audio for %s", bid)
            self._emit("failed", bid, reason=f"cannot decode cached audio: {exc}")
            return
        start = _start_epoch(item)
        while (delay := start - time.time()) > 0:
            if self._interrupt.wait(min(delay, 0.5)):
                self._emit("cancelled", bid, reason="cancelled before start")
                return
        if time.time() > item.valid_until.timestamp():
            self._emit("failed", bid, reason=f"not started before valid_until {item.valid_until}")
            return
        self._on_playing(bid)
        self._emit("started", bid, at=time.time())
        try:
            record = self.sink.play(samples, rate, label=bid, stop=self._interrupt)
        except SinkError as exc:
            self._emit("failed", bid, reason=f"audio output failed: {exc}")
            return
        if record.interrupted:
            self._emit(
                "cancelled",
                bid,
                reason="stopped while playing",
                interrupted=True,
                at=record.ended_at,
            )
        else:
            self._emit("finished", bid, at=record.ended_at)


def _start_epoch(command: PlayCommand | None) -> float:
    if command is None or command.play_at is None:
        return 0.0  # at once
    return command.play_at.timestamp()
