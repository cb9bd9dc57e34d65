"""Plays the node's programme at absolute start times, from its own clock, by priority.

One thread owns the sink and the amplifier relay. It sleeps until the next item's pre-roll,
switches the amplifier on, loads the audio, waits for the exact start and plays. A higher
priority item that falls due cuts into a lower one (an emergency first plays the node's own
attention signal, before its message has even arrived); the item cut off is resumed a little
before where it stopped if its window still has room, and otherwise reported as interrupted.
A technician's test tone ranks below everything; an operator's stop silences whatever is on air.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from node_agent.attention import RATE as ATTENTION_RATE
from node_agent.attention import attention_signal
from node_agent.relay import AmplifierRelay
from node_agent.sinks import AudioSink, SinkError
from protocol.messages import PlayCommand

log = logging.getLogger(__name__)

# Who may cut into whom: emergency > bulletins > filler. "priority" bulletins go first in their
# slot (the controller orders the slot) but do not cut into a normal one on air.
PRECEDENCE = {"emergency": 3, "priority": 1, "normal": 1, "filler": 0}
EMERGENCY = PRECEDENCE["emergency"]
TONE_RANK = -1  # a test tone gives way to any programme item that falls due
RESUME_BACKUP_S = 2.0  # resume a little before the cut so the listener catches the sentence

Emit = Callable[..., None]  # emit(kind, play_id, reason="", interrupted=False, at=None)
Loader = Callable[[Path], tuple[np.ndarray, int]]


@dataclass
class Entry:
    command: PlayCommand
    resume_frame: int = 0
    cut_reason: str = ""  # set once it was cut off on air: it is a resume from then on

    @property
    def start(self) -> float:
        at = self.command.play_at
        return at.timestamp() if at is not None else 0.0

    @property
    def rank(self) -> int:
        return PRECEDENCE.get(self.command.priority, 1)


@dataclass(frozen=True)
class Tone:
    """Audio made on the node (the test tone): no play id, no report, never resumed."""

    label: str
    samples: np.ndarray
    rate: int


@dataclass(frozen=True)
class Volumes:
    normal: float = 1.0
    emergency: float = 1.0


def volume_gain(percent: int) -> float:
    """The gain of a 0-100 volume setting. Square law, as on an audio-taper knob: equal steps
    sound like roughly equal steps in loudness (50 is -12 dB), where a linear scale would
    leave the whole top half sounding nearly the same."""
    return (percent / 100) ** 2


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
        volumes: Volumes | None = None,
    ) -> None:
        self.sink, self.relay = sink, relay
        self._audio_path, self._load = audio_path, load
        # Reports (disk writes, MQTT) go through one worker thread, in order, so the player
        # itself never waits on them: the first sample must leave on the exact start time.
        self._notifier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="player-report")
        self._emit: Emit = lambda *a, **k: self._report(emit, *a, **k)
        self._on_playing: Callable[[str | None], None] = lambda p: self._report(on_playing, p)
        self.preroll_s, self.postroll_s = preroll_s, postroll_s
        self.volumes = volumes or Volumes()
        self._attention = attention_signal()
        self._queue: dict[str, Entry] = {}
        self._alerts: dict[str, float] = {}  # emergencies announced, audio not ready: valid until
        self._attention_done: set[str] = set()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._cut = threading.Event()  # stops the item on air
        self._cut_reason = ""
        self._cut_cancels = False  # the cut is a cancellation: report it, do not resume
        self._current: Entry | None = None
        self._tone: Tone | None = None  # waiting to play
        self._tone_on_air: Tone | None = None
        self._attention_for: str | None = None  # the alert whose attention signal is on air
        self._timer: threading.Timer | None = None
        self._relay_off_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="player", daemon=True)

    # --- called from the agent's worker -------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cut_reason = "node agent stopping"
            self._cut.set()
            self._cond.notify_all()
        self._thread.join(timeout=5)
        if self._timer:
            self._timer.cancel()
        self._notifier.shutdown(wait=True)
        if self.relay.is_on:
            self.relay.off()

    def add(self, command: PlayCommand, resume_frame: int = 0) -> None:
        with self._cond:
            self._alerts.pop(command.play_id, None)
            entry = Entry(command, resume_frame)
            self._queue[command.play_id] = entry
            self._rearm_locked()
            self._cond.notify_all()

    def announce_emergency(self, command: PlayCommand) -> None:
        """An emergency arrived: go on air with the attention signal while its audio loads."""
        with self._cond:
            self._alerts[command.play_id] = command.valid_until.timestamp()
            rank = self._on_air_rank_locked()
            if rank is not None and rank < EMERGENCY:
                self._cut_locked(f"pre-empted by emergency {command.play_id}")
            self._cond.notify_all()

    def play_tone(self, tone: Tone) -> str:
        """Play a test tone now, at the normal volume; returns why not ("" when it will play).

        Refused rather than queued behind what is on air: a tone that sounds minutes later,
        after an alarm, would only confuse the technician who asked for it.
        """
        with self._cond:
            if self._emergency_locked(time.time()):
                return "an emergency is on air; a test tone never cuts into one"
            if self._current is not None:
                return f"{self._current.command.play_id} is on air; stop it first to test"
            if self._tone is not None or self._tone_on_air is not None:
                return "a test tone is already playing"
            self._tone = tone
            self._cond.notify_all()
        return ""

    def silence(self, reason: str) -> list[str]:
        """The operator's stop: cut whatever is sounding (an attention signal, a test tone)
        and every airing already begun that would otherwise sound again (a cut-off item
        waiting to resume, an alarm waiting for its audio), each reported cancelled with
        ``reason``. Items that have not started stay scheduled. Returns the play ids cut."""
        with self._cond:
            now = time.time()
            self._tone = None
            cut = self._cut_sounding_locked(reason, now)
            for play_id in self._begun_locked():
                if play_id in cut:
                    continue
                self._drop_locked(play_id)
                self._emit("cancelled", play_id, reason=reason, interrupted=True)
                cut.append(play_id)
            self._cond.notify_all()
        return cut

    def cancel(self, play_id: str) -> str | None:
        """Drop a queued item or stop the playing one; says which it was (None: unknown)."""
        with self._cond:
            found = "queued" if self._queue.pop(play_id, None) is not None else None
            if self._alerts.pop(play_id, None) is not None:
                found = found or "queued"
            if self._current is not None and self._current.command.play_id == play_id:
                self._cut_locked("cancelled", cancel=True)
                found = "playing"
            elif self._attention_for == play_id:
                self._cut_locked("cancelled", cancel=True)
                self._emit("cancelled", play_id, reason="cancelled", interrupted=True)
                found = "playing"
            self._cond.notify_all()
        return found

    def _report(self, fn: Callable[..., None], *args: object, **kwargs: object) -> None:
        def run() -> None:
            try:
                fn(*args, **kwargs)
            except Exception:  # a failed report must not take the player down
                log.exception("player report failed")

        self._notifier.submit(run)

    def _emergency_locked(self, now: float) -> bool:
        """An emergency is sounding, announced, or due now."""
        if self._alerts or self._attention_for is not None:
            return True
        if self._current is not None and self._current.rank >= EMERGENCY:
            return True
        return any(
            e.rank >= EMERGENCY and e.start - self.preroll_s <= now for e in self._queue.values()
        )

    def _cut_sounding_locked(self, reason: str, now: float) -> list[str]:
        """Cut what is sounding as a cancellation; returns its play id, if it has one."""
        current = self._current
        if current is not None and current.start <= now:  # not still in its pre-roll
            self._cut_locked(reason, cancel=True)  # _play reports it
            return [current.command.play_id]
        if self._tone_on_air is not None:
            self._cut_locked(reason, cancel=True)
        attention = self._attention_for
        if current is None and attention is not None:  # announced alarm: nobody else reports it
            self._cut_locked(reason, cancel=True)
            self._drop_locked(attention)
            self._emit("cancelled", attention, reason=reason, interrupted=True)
            return [attention]
        return []

    def _begun_locked(self) -> list[str]:
        """Airings that have sounded and would sound again without a new command."""
        queued = [p for p, e in self._queue.items() if e.cut_reason or p in self._attention_done]
        announced = [p for p in self._alerts if p in self._attention_done and p not in queued]
        return queued + announced

    def _drop_locked(self, play_id: str) -> None:
        self._queue.pop(play_id, None)
        self._alerts.pop(play_id, None)
        self._attention_done.discard(play_id)

    # --- the player thread --------------------------------------------------------------------
    def _cut_locked(self, reason: str, *, cancel: bool = False) -> None:
        if self._cut.is_set() and self._cut_cancels and not cancel:
            return  # a pre-emption falling due must not turn a cancellation into a resume
        self._cut_reason = reason
        self._cut_cancels = cancel
        self._cut.set()

    def _clear_cut_locked(self) -> None:
        self._cut.clear()
        self._cut_cancels = False

    def _on_air_rank_locked(self) -> int | None:
        if self._current is not None:
            return self._current.rank
        return TONE_RANK if self._tone_on_air is not None else None

    def _rearm_locked(self) -> None:
        """Arrange for what is on air to be cut when a higher-priority item falls due."""
        if self._timer:
            self._timer.cancel()
            self._timer = None
        rank = self._on_air_rank_locked()
        if rank is None:
            return
        higher = [e for e in self._queue.values() if e.rank > rank]
        if not higher:
            return
        first = min(higher, key=lambda e: e.start)
        reason = f"pre-empted by {first.command.priority} {first.command.play_id}"
        delay = first.start - time.time()
        if delay <= 0:
            self._cut_locked(reason)
            return
        self._timer = threading.Timer(delay, self._cut_at, args=(reason,))
        self._timer.daemon = True
        self._timer.start()

    def _cut_at(self, reason: str) -> None:
        with self._cond:
            self._cut_locked(reason)

    def _pick_locked(self, now: float) -> Entry | Tone | str | float | None:
        """What to do now: an entry to play, an alert id to announce, a test tone, or when to
        look again."""
        for play_id, until in list(self._alerts.items()):
            if until < now:
                del self._alerts[play_id]
                self._emit("failed", play_id, reason="emergency audio did not arrive in time")
            elif play_id not in self._attention_done:
                return play_id
        due = [e for e in self._queue.values() if e.start - self.preroll_s <= now]
        if self._alerts:  # hold everything lower while an announced emergency's audio loads
            due = [e for e in due if e.rank >= EMERGENCY]
        if due:
            return max(due, key=lambda e: (e.rank, -e.start))
        if self._tone is not None and not self._alerts:
            return self._tone
        future = [e.start - self.preroll_s for e in self._queue.values()]
        return min(future) if future else None

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                now = time.time()
                choice = self._pick_locked(now)
                if isinstance(choice, Entry):
                    del self._queue[choice.command.play_id]
                    self._current = choice
                elif isinstance(choice, Tone):
                    self._tone, self._tone_on_air = None, choice
                elif not isinstance(choice, str):
                    self._idle_locked(now, choice)
                    continue
                if not isinstance(choice, str):
                    self._clear_cut_locked()
                    self._rearm_locked()
            try:
                if isinstance(choice, str):
                    self._play_attention(choice)
                elif isinstance(choice, Tone):
                    self._play_tone(choice)
                else:
                    self._play(choice)
            finally:
                with self._cond:
                    self._current = self._tone_on_air = None
                    if self._timer:
                        self._timer.cancel()
                self._relay_off_at = time.time() + self.postroll_s
                self._on_playing(None)

    def _idle_locked(self, now: float, wake: float | None) -> None:
        timeout = 1.0 if wake is None else max(0.0, min(1.0, wake - now))
        if self._relay_off_at is not None:
            if self._relay_off_at <= now:
                self.relay.off()
                self._relay_off_at = None
            else:
                timeout = min(timeout, self._relay_off_at - now)
        self._cond.wait(timeout=timeout)

    def _amplifier_on(self) -> None:
        if not self.relay.is_on:
            self.relay.on()
        self._relay_off_at = None

    def _play_tone(self, tone: Tone) -> None:
        self._amplifier_on()
        self._on_playing(tone.label)
        try:
            self.sink.play(
                tone.samples, tone.rate, label=tone.label, gain=self.volumes.normal, stop=self._cut
            )
        except SinkError as exc:  # nobody waits on a report: the technician hears nothing
            log.warning("test tone failed: %s", exc)

    def _play_attention(self, play_id: str) -> None:
        with self._cond:
            self._attention_done.add(play_id)
            self._attention_for = play_id
            self._clear_cut_locked()
        self._amplifier_on()
        self._on_playing(play_id)
        self._emit("started", play_id, at=time.time())
        try:
            self.sink.play(
                self._attention,
                ATTENTION_RATE,
                label=f"{play_id}.attention",
                gain=self.volumes.emergency,
                stop=self._cut,  # a cancel stops the alarm too
            )
        except SinkError as exc:
            self._emit("failed", play_id, reason=f"audio output failed: {exc}")
        finally:
            with self._cond:
                self._attention_for = None

    def _play(self, entry: Entry) -> None:
        item, pid = entry.command, entry.command.play_id
        self._amplifier_on()
        try:
            samples, rate = self._load(self._audio_path(item.audio.sha256))
        except Exception as exc:  # any decoder failure is reported, never fatal to the node
            log.exception("cannot load audio for %s", pid)
            self._emit("failed", pid, reason=f"cannot decode cached audio: {exc}")
            return
        # Coarse wait here; the sink, already prepared, waits out the last moment itself.
        while (delay := entry.start - time.time() - 0.25) > 0:
            if self._cut.wait(min(delay, 0.5)):
                self._requeue_or_drop(entry, reason=self._cut_reason, started=False)
                return
        resuming = bool(entry.cut_reason)
        if not resuming and time.time() > item.valid_until.timestamp():
            self._emit("failed", pid, reason=f"missed: not started by {item.valid_until}")
            return
        window_end = (item.window_end or item.valid_until).timestamp()
        remaining = (len(samples) - entry.resume_frame) / rate
        if resuming and time.time() + remaining > window_end:
            self._emit(
                "failed",
                pid,
                interrupted=True,
                reason=f"interrupted ({entry.cut_reason}); no time left in its window to resume",
            )
            return
        is_emergency = entry.rank >= EMERGENCY
        if is_emergency and pid not in self._attention_done:
            self._play_attention(pid)
            if self._cut.is_set():  # cancelled during the attention signal
                self._requeue_or_drop(entry, reason=self._cut_reason, started=True)
                return
        elif not is_emergency or resuming:
            self._emit("started", pid, at=max(entry.start, time.time()))
        self._on_playing(pid)
        gain = self.volumes.emergency if is_emergency else self.volumes.normal
        start_at = entry.start if entry.start > time.time() else None
        try:
            record = self.sink.play(
                samples[entry.resume_frame :],
                rate,
                label=pid,
                stop=self._cut,
                gain=gain,
                start_at=start_at,
            )
        except SinkError as exc:
            self._emit("failed", pid, reason=f"audio output failed: {exc}")
            return
        if not record.interrupted:
            self._attention_done.discard(pid)
            self._emit("finished", pid, at=record.ended_at)
            return
        entry.resume_frame = max(
            0, entry.resume_frame + record.frames_played - int(RESUME_BACKUP_S * rate)
        )
        self._requeue_or_drop(entry, reason=self._cut_reason, started=True)

    def _requeue_or_drop(self, entry: Entry, *, reason: str, started: bool) -> None:
        pid = entry.command.play_id
        if self._stop.is_set():
            return  # the agent is stopping: the store still has it, a restart plays it again
        if self._cut_cancels:
            with self._cond:
                self._attention_done.discard(pid)
            self._emit("cancelled", pid, reason=reason, interrupted=started)
            return
        # Pre-empted: back in the queue; it plays again when the higher item is done, if its
        # window still has room then (checked when it comes round).
        if started:
            self._emit(
                "interrupted", pid, reason=f"{reason}; will resume if time allows", interrupted=True
            )
        with self._cond:
            self._queue[pid] = (
                Entry(
                    entry.command.model_copy(update={"play_at": None}), entry.resume_frame, reason
                )
                if started
                else entry
            )
