"""Plays the node's programme at absolute start times, from its own clock, by priority.

One thread owns the sink and the amplifier relay. It asks the agenda (node_agent/agenda.py)
what to do, sleeps until the next item's pre-roll, switches the amplifier on, loads the audio,
waits for the exact start and plays. A higher priority item that falls due cuts into a lower
one (an emergency first plays the node's own attention signal, before its message has even
arrived); the item cut off is resumed a little before where it stopped if its window still has
room, and otherwise reported as interrupted. A technician's test tone ranks below everything;
an operator's stop silences whatever is on air.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from node_agent.agenda import (
    EMERGENCY,
    RESUME_BACKUP_S,
    Agenda,
    Announce,
    Entry,
    Expired,
    GoLive,
    Hold,
    Idle,
    Play,
    PlayTone,
    Resume,
    Tone,
    Wait,
    cut_off,
    refusal,
    resume_frame,
)
from node_agent.attention import RATE as ATTENTION_RATE
from node_agent.attention import attention_signal
from node_agent.blocks import Source
from node_agent.live_stream import LiveStream
from node_agent.relay import AmplifierRelay
from node_agent.sinks import AudioSink, PlaybackRecord, SinkError
from protocol.messages import PlayCommand

__all__ = ["RESUME_BACKUP_S", "Player", "Tone", "Volumes", "volume_gain"]

log = logging.getLogger(__name__)

Emit = Callable[..., None]  # emit(kind, play_id, reason="", interrupted=False, at=None)
# load(path, start): the cached file opened to play from frame `start` (see node_agent/blocks.py)
Loader = Callable[[Path, int], Source]


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
        intact: Callable[[str], bool] = lambda _sha: True,
        damaged: Callable[[PlayCommand], None] = lambda _command: None,
        hold: Callable[[], Hold | None] = lambda: None,
    ) -> None:
        """``intact(sha256)``: the cached file still matches (checked as each item is loaded to
        air); ``damaged(command)``: it did not, so it must be fetched again and added back;
        ``hold()``: the node's clock cannot be trusted now (items due at a set time wait)."""
        self._hold = hold
        self.sink, self.relay = sink, relay
        self._intact, self._damaged = intact, damaged
        self._audio_path, self._load = audio_path, load
        # Reports (disk writes, MQTT) go through one worker thread, in order, so the player
        # itself never waits on them: the first sample must leave on the exact start time.
        self._notifier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="player-report")
        self._emit: Emit = lambda *a, **k: self._report(emit, *a, **k)
        self._on_playing: Callable[[str | None], None] = lambda p: self._report(on_playing, p)
        self.preroll_s, self.postroll_s = preroll_s, postroll_s
        self.volumes = volumes or Volumes()
        self._attention = attention_signal()
        self._agenda = Agenda(preroll_s)  # guarded by _cond
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._cut = threading.Event()  # stops the item on air
        self._cut_reason = ""
        self._cut_cancels = False  # the cut is a cancellation: report it, do not resume
        self._timer: threading.Timer | None = None
        self._relay_off_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="player", daemon=True)

    # --- called from the agent's worker -------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        """The player thread runs: False before ``start`` and once it died."""
        return self._thread.is_alive()

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
            self._agenda.add(Entry(command, resume_frame))
            self._rearm_locked()
            self._cond.notify_all()

    def announce_emergency(self, command: PlayCommand) -> None:
        """An emergency arrived: go on air with the attention signal while its audio loads."""
        with self._cond:
            if self._agenda.announce(command):
                self._cut_locked(f"pre-empted by emergency {command.play_id}")
            self._cond.notify_all()

    def give_up(self, play_id: str, reason: str) -> None:
        """An emergency announced while its audio loaded whose audio cannot come (its failure
        is reported with ``reason`` by the caller): its attention signal stops, and the
        programme it held back goes on instead of waiting until it lapses."""
        with self._cond:
            if self._agenda.give_up(play_id):
                self._cut_locked(reason, cancel=True)
            self._cond.notify_all()

    def go_live(self, live: LiveStream) -> None:
        """A live session opened: it cuts into a bulletin (which resumes after it, as after an
        emergency) and waits for an emergency to end. ``live.finished`` hears how it ended."""
        with self._cond:
            if self._agenda.offer_live(live):
                self._cut_locked(f"pre-empted by live {live.play_id}")
            self._cond.notify_all()

    def drop_live(self, live: LiveStream, reason: str) -> None:
        """The session ended before it went on air here: report it never sounded."""
        with self._cond:
            dropped = self._agenda.drop_live(live)
        if dropped:
            self._report(live.finished, None, "failed", reason)

    def play_tone(self, tone: Tone) -> str:
        """Play a test tone now, at the normal volume; returns why not ("" when it will play).

        Refused rather than queued behind what is on air: a tone that sounds minutes later,
        after an alarm, would only confuse the technician who asked for it.
        """
        with self._cond:
            refused = self._agenda.offer_tone(tone, time.time())
            if not refused:
                self._cond.notify_all()
        return refused

    def silence(self, reason: str) -> list[str]:
        """The operator's stop: cut whatever is sounding and every airing already begun that
        would otherwise sound again, each reported cancelled with ``reason`` (see
        ``Agenda.silence``). Returns the play ids cut."""
        with self._cond:
            waiting = self._agenda.waiting_live()
            silenced = self._agenda.silence(time.time())
            if isinstance(waiting, LiveStream):
                self._report(waiting.finished, None, "failed", reason)
            if silenced.cut:
                self._cut_locked(reason, cancel=True)  # an item playing reports itself
            for play_id in silenced.report:
                self._emit("cancelled", play_id, reason=reason, interrupted=True)
            self._cond.notify_all()
        return list(silenced.play_ids)

    def cancel(self, play_id: str) -> str | None:
        """Drop a queued item or stop the playing one; says which it was (None: unknown)."""
        with self._cond:
            cancellation = self._agenda.cancel(play_id)
            if cancellation.cut:
                self._cut_locked("cancelled", cancel=True)
            if cancellation.report:
                self._emit("cancelled", play_id, reason="cancelled", interrupted=True)
            self._cond.notify_all()
        return cancellation.found

    def _report(self, fn: Callable[..., None], *args: object, **kwargs: object) -> None:
        def run() -> None:
            try:
                fn(*args, **kwargs)
            except Exception:  # a failed report must not take the player down
                log.exception("player report failed")

        self._notifier.submit(run)

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

    def _rearm_locked(self) -> None:
        """Arrange for what is on air to be cut when a higher-priority item falls due."""
        if self._timer:
            self._timer.cancel()
            self._timer = None
        preempt = self._agenda.preemption()
        if preempt is None:
            return
        delay = preempt.at - time.time()
        if delay <= 0:
            self._cut_locked(preempt.reason)
            return
        self._timer = threading.Timer(delay, self._cut_at, args=(preempt.reason,))
        self._timer.daemon = True
        self._timer.start()

    def _cut_at(self, reason: str) -> None:
        with self._cond:
            self._cut_locked(reason)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                now, hold = time.time(), self._hold()
                decision = self._agenda.next(now, hold)
                while isinstance(decision, Expired):
                    self._emit("failed", decision.play_id, reason=decision.reason)
                    decision = self._agenda.next(now, hold)
                if isinstance(decision, Wait | Idle):
                    self._idle_locked(now, decision)
                    continue
                if not isinstance(decision, Announce):
                    self._clear_cut_locked()
                    self._rearm_locked()
            try:
                match decision:
                    case Announce(play_id):
                        self._play_attention(play_id)
                    case PlayTone(tone):
                        self._play_tone(tone)
                    case Play() | Resume():
                        self._play(decision)
                    case GoLive(live) if isinstance(live, LiveStream):
                        self._play_live(live)
            finally:
                with self._cond:
                    self._agenda.off_air()
                    if self._timer:
                        self._timer.cancel()
                self._relay_off_at = time.time() + self.postroll_s
                self._on_playing(None)

    def _idle_locked(self, now: float, idle: Wait | Idle) -> None:
        timeout = max(0.0, min(1.0, idle.until - now)) if isinstance(idle, Wait) else 1.0
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
            self._agenda.attention_on(play_id)
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
                self._agenda.attention_off()

    def _play_live(self, live: LiveStream) -> None:
        pid = live.play_id
        self._amplifier_on()
        first = live.wait_first(self._cut)
        if first is None:
            why = self._cut_reason if self._cut.is_set() else live.stats.reason
            if not (self._cut.is_set() and self._requeue_live(live, why, None)):
                self._report(live.finished, None, "failed", why)
            return
        self._on_playing(pid)
        start_at = live.sound_at(first)
        part = live.stats.start_part(max(start_at, time.time()))
        if part == 0:  # a session rejoined after a break has started already
            self._emit("started", pid, at=max(start_at, time.time()))
        try:
            record: PlaybackRecord | None = self.sink.play_stream(
                live.blocks(),
                live.start.sample_rate,
                label=pid if part == 0 else f"{pid}.{part}",
                stop=self._cut,
                gain=self.volumes.normal,
                start_at=start_at,
            )
        except SinkError as exc:
            live.close()
            self._emit("failed", pid, reason=f"audio output failed: {exc}")
            self._report(live.finished, None, "failed", f"audio output failed: {exc}")
            return
        assert record is not None
        live.stats.end_part(record.started_at, record.ended_at, record.seconds_played)
        if record.interrupted:
            reason = self._cut_reason
            if self._requeue_live(live, reason, record.ended_at):
                return
            live.close()
            if not self._stop.is_set():  # a restart is no end: the agent restores the session
                self._emit("interrupted", pid, reason=reason, interrupted=True, at=record.ended_at)
            self._report(live.finished, record, "interrupted", reason)
            return
        live.close()
        self._emit("finished", pid, at=record.ended_at)
        self._report(live.finished, record, live.stats.end or "finished", live.stats.reason)

    def _requeue_live(self, live: LiveStream, reason: str, since: float | None) -> bool:
        """An emergency cut the session: it waits for the emergency to end, then rejoins at
        the shared playout time. False when it was another cut (a stop, a newer session)."""
        with self._cond:
            if self._stop.is_set() or self._cut_cancels or not self._agenda.emergency(time.time()):
                return False
            if not self._agenda.requeue_live(live):
                return False
            self._cond.notify_all()
        live.stats.begin_break("emergency", reason, since)
        return True

    def _play(self, decision: Play | Resume) -> None:
        entry = decision.entry
        pid = entry.play_id
        sha = entry.command.audio.sha256
        if not self._intact(sha):
            # Rotted since it was prepared (an SD card, a power cut): never aired as noise.
            # It goes back to be fetched; arriving too late, it is reported missed.
            log.warning("audio of %s no longer matches its sha256: fetching it again", pid)
            self._damaged(entry.command)
            return
        self._amplifier_on()
        try:
            # Opened (and its first block decoded) now, so a bad file fails before the airtime
            # and the first sample leaves on time; the rest is decoded as it plays.
            source = self._load(self._audio_path(entry.command.audio.sha256), entry.resume_frame)
        except Exception as exc:  # any decoder failure is reported, never fatal to the node
            log.exception("cannot load audio for %s", pid)
            self._emit("failed", pid, reason=f"cannot decode cached audio: {exc}")
            return
        try:
            self._play_source(decision, source)
        finally:
            source.close()

    def _play_source(self, decision: Play | Resume, source: Source) -> None:
        entry = decision.entry
        pid = entry.play_id
        rate = source.sample_rate
        # Coarse wait here; the sink, already prepared, waits out the last moment itself.
        while (delay := entry.start - time.time() - 0.25) > 0:
            if self._cut.wait(min(delay, 0.5)):
                self._requeue_or_drop(entry, reason=self._cut_reason, started=False)
                return
        frames = source.frames
        if frames is None:  # the container does not say: the controller did
            frames = round(entry.command.audio.duration_s * rate)
        refused = refusal(entry, time.time(), frames, rate)
        if refused is not None:
            self._emit("failed", pid, reason=refused.reason, interrupted=refused.interrupted)
            return
        is_emergency = entry.rank >= EMERGENCY
        with self._cond:
            attention_first = self._agenda.needs_attention(entry)
        if attention_first:
            self._play_attention(pid)
            if self._cut.is_set():  # cancelled during the attention signal
                reason = self._cut_reason
                resume = cut_off(entry, reason, entry.resume_frame)
                self._requeue_or_drop(resume, reason=reason, started=True)
                return
        elif not is_emergency or isinstance(decision, Resume):
            self._emit("started", pid, at=max(entry.start, time.time()))
        self._on_playing(pid)
        gain = self.volumes.emergency if is_emergency else self.volumes.normal
        start_at = entry.start if entry.start > time.time() else None
        try:
            record = self.sink.play(
                source,
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
            with self._cond:
                self._agenda.forget_attention(pid)
            self._emit("finished", pid, at=record.ended_at)
            return
        reason = self._cut_reason
        resume = cut_off(entry, reason, resume_frame(entry, record.frames_played, rate))
        self._requeue_or_drop(resume, reason=reason, started=True)

    def _requeue_or_drop(self, entry: Entry, *, reason: str, started: bool) -> None:
        """Put an item cut off (``started``: on air, and ``entry`` is its resume) back in the
        queue, or report it cancelled if the cut was a cancellation."""
        pid = entry.play_id
        if self._stop.is_set():
            return  # the agent is stopping: a restart reports it (bulletins.DIED_ON_AIR)
        if self._cut_cancels:
            with self._cond:
                self._agenda.forget_attention(pid)
            self._emit("cancelled", pid, reason=reason, interrupted=started)
            return
        # Pre-empted: back in the queue; it plays again when the higher item is done, if its
        # window still has room then (checked when it comes round).
        if started:
            self._emit(
                "interrupted", pid, reason=f"{reason}; will resume if time allows", interrupted=True
            )
        with self._cond:
            self._agenda.add(entry)
