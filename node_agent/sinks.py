"""Where a node's audio finally goes: the sound card, or WAV files for simulated nodes.

Both sinks take float32 mono ``(n,)`` samples in [-1, 1], whole or as an iterable of blocks
(a bulletin decoded as it plays: see node_agent/blocks.py), block for the audio's real duration
(the player's timing and proof-of-play depend on it), stop within a few tens of milliseconds when
the caller's ``stop`` event is set, and return a :class:`PlaybackRecord`.

``frames_played`` and ``sample_rate`` in the record always count the caller's samples at the
caller's rate, whatever rate the device ran at, so ``frames_played / sample_rate`` is the seconds
of the item that were heard on every sink.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import threading
import time
import wave
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from node_agent.blocks import Audio, BlockReader, Samples, check_request

__all__ = [
    "AudioSink",
    "PlaybackRecord",
    "SinkError",
    "SounddeviceSink",
    "WavFileSink",
    "make_sink",
    "to_int16",
    "wait_until",
]

log = logging.getLogger(__name__)

# How often a sink looks at its stop event; bounds how late a pre-emption takes effect.
_STEP_S = 0.02
# A sink paces itself by the wall clock as well as by the device (see SounddeviceSink.play).
# It may run this far ahead of the clock, plus the device's own latency, plus a share of the
# elapsed time so that a device clock running fast of the system clock (USB cards drift by
# tens of ppm) never starves: 2000 ppm is far beyond any real crystal.
_PACE_SLACK_S = 0.25
_PACE_DRIFT = 0.002
# Long items are resampled piecewise so playback starts at once (an emergency must not wait
# for a whole file to be converted) and memory stays small on a Pi.
_RESAMPLE_CHUNK_S = 0.5


class SinkError(RuntimeError):
    """The output device (or the directory standing in for it) failed; the reason is in the text."""


@dataclass(frozen=True)
class PlaybackRecord:
    started_at: float  # epoch seconds (time.time()) when the first sample went to the device
    ended_at: float
    frames_played: int  # of the caller's samples, at the caller's sample_rate
    sample_rate: int
    interrupted: bool  # True when stop was set before the end

    @property
    def seconds_played(self) -> float:
        return self.frames_played / self.sample_rate


class AudioSink(Protocol):
    def play(
        self,
        samples: Audio,
        sample_rate: int,
        *,
        label: str,
        stop: threading.Event | None = None,
        gain: float = 1.0,
        start_at: float | None = None,
    ) -> PlaybackRecord: ...

    def play_stream(
        self,
        blocks: Iterable[Samples],
        sample_rate: int,
        *,
        label: str,
        stop: threading.Event | None = None,
        gain: float = 1.0,
        start_at: float | None = None,
    ) -> PlaybackRecord:
        """Play blocks made while they play (a live session): the sink asks for each block
        only when its clock is about to need it, so a block may be produced just in time, and
        the item ends when the blocks do. Memory holds a block or two, whatever the length."""
        ...


def _streamed(blocks: Iterable[Samples]) -> Iterator[Samples]:
    """``blocks`` as a plain iterator: a sink must pull it, never take it as a whole array."""
    yield from blocks


def to_int16(x: Samples) -> NDArray[np.int16]:
    """Float [-1, 1] to 16-bit PCM, scaled and clipped as ALSA and PortAudio do."""
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def wait_until(start_at: float | None, stop: threading.Event) -> bool:
    """Sleep until ``start_at`` (epoch seconds); True if ``stop`` came first. A sink does all
    its preparation before this, so the first sample leaves on time even on a busy machine."""
    while start_at is not None and (delay := start_at - time.time()) > 0:
        if stop.wait(min(delay, 0.05)):
            return True
    return False


def fade_out(x: Samples) -> Samples:
    """``x`` under a linear ramp to silence: how a pre-empted item leaves the air, so horn
    loudspeakers do not bang when an emergency cuts in."""
    return (x * np.linspace(1.0, 0.0, len(x), dtype=np.float32)).astype(np.float32)


def _record(
    started: float, ended: float, frames: int, sample_rate: int, interrupted: bool
) -> PlaybackRecord:
    return PlaybackRecord(
        started_at=started,
        ended_at=ended,
        frames_played=frames,
        sample_rate=sample_rate,
        interrupted=interrupted,
    )


class SounddeviceSink:
    """A sound card through PortAudio (the ``sounddevice`` package).

    ``samplerate=None`` opens the device at each item's own rate when the device takes it, and
    otherwise at the device's default rate, resampling. ``channels=None`` means stereo when the
    device has two channels, mono otherwise; mono audio goes out identically on every channel.
    With ``fade_s``, a stopped item fades out over that long instead of stopping dead.
    """

    def __init__(
        self,
        device: str | int | None = None,
        samplerate: int | None = None,
        channels: int | None = None,
        *,
        latency: float | Literal["low", "high"] = "high",
        fade_s: float = 0.0,
    ) -> None:
        if samplerate is not None and samplerate <= 0:
            raise ValueError(f"samplerate must be positive, got {samplerate}")
        if channels is not None and channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        try:
            # Imported here: importing sounddevice loads and initialises PortAudio, which
            # simulated nodes and the controller never need.
            import sounddevice
        except OSError as exc:  # the PortAudio shared library itself is missing
            raise SinkError(f"PortAudio is not available (install libportaudio2): {exc}") from exc
        self._sd: Any = sounddevice
        try:
            info = sounddevice.query_devices(device, kind="output")
        except (ValueError, sounddevice.PortAudioError) as exc:
            raise SinkError(f"no usable output device {device!r}: {exc}") from exc
        self._device = device if device is not None else int(info["index"])
        self._name = str(info["name"])
        self._default_rate = int(info["default_samplerate"])
        self._channels = channels if channels is not None else min(2, info["max_output_channels"])
        self._samplerate = samplerate
        self._latency = latency
        self._fade_s = max(0.0, fade_s)

    @property
    def device_name(self) -> str:
        return self._name

    def _stream_rate(self, sample_rate: int) -> int:
        if self._samplerate is not None:
            return self._samplerate
        try:
            self._sd.check_output_settings(
                device=self._device,
                channels=self._channels,
                dtype="float32",
                samplerate=sample_rate,
            )
        except (ValueError, self._sd.PortAudioError):
            log.info(
                "%s does not take %d Hz; resampling to %d Hz",
                self._name,
                sample_rate,
                self._default_rate,
            )
            return self._default_rate
        return sample_rate

    def play(
        self,
        samples: Audio,
        sample_rate: int,
        *,
        label: str,
        stop: threading.Event | None = None,
        gain: float = 1.0,
        start_at: float | None = None,
    ) -> PlaybackRecord:
        return self._play(
            samples, sample_rate, label=label, stop=stop, gain=gain, start_at=start_at, live=False
        )

    def _play(
        self,
        samples: Audio,
        sample_rate: int,
        *,
        label: str,
        stop: threading.Event | None,
        gain: float,
        start_at: float | None,
        live: bool,
    ) -> PlaybackRecord:
        check_request(sample_rate, label=label, gain=gain)
        source = BlockReader(samples, gain)
        stop = stop if stop is not None else threading.Event()
        # A stream's first block may only be made at its start time: the device is opened
        # first, so it is ready then; an empty stream simply plays nothing.
        if stop.is_set() or (not live and source.empty()):
            now = time.time()
            return _record(now, now, 0, sample_rate, live or not source.empty())
        rate = self._stream_rate(sample_rate)
        out = source
        if rate != sample_rate:
            # Imported here: most cards take the item's rate, so most points never load it.
            from audio.resample import resample_stream

            pieces = source.pieces(max(1, int(sample_rate * _RESAMPLE_CHUNK_S)))
            out = BlockReader(resample_stream(pieces, sample_rate, rate))
        try:
            stream = self._sd.OutputStream(
                device=self._device,
                samplerate=rate,
                channels=self._channels,
                dtype="float32",
                latency=self._latency,
            )
        except (ValueError, self._sd.PortAudioError) as exc:
            raise SinkError(f"cannot open {self._name} at {rate} Hz for {label}: {exc}") from exc
        try:
            if wait_until(start_at, stop):
                now = time.time()
                return _record(now, now, 0, sample_rate, True)
            stream.start()
            return self._stream_out(
                stream, source, out, rate=rate, sample_rate=sample_rate, stop=stop
            )
        except self._sd.PortAudioError as exc:
            raise SinkError(f"{self._name} failed while playing {label}: {exc}") from exc
        finally:
            stream.close()  # discards anything still buffered, without waiting for it

    def play_stream(
        self,
        blocks: Iterable[Samples],
        sample_rate: int,
        *,
        label: str,
        stop: threading.Event | None = None,
        gain: float = 1.0,
        start_at: float | None = None,
    ) -> PlaybackRecord:
        """See :meth:`AudioSink.play_stream`: the device opens before the first block is
        asked for, and is then fed block by block as its clock asks."""
        return self._play(
            _streamed(blocks),
            sample_rate,
            label=label,
            stop=stop,
            gain=gain,
            start_at=start_at,
            live=True,
        )

    def _stream_out(
        self,
        stream: Any,
        source: BlockReader,
        out: BlockReader,
        *,
        rate: int,
        sample_rate: int,
        stop: threading.Event,
    ) -> PlaybackRecord:
        """Write ``out`` (``source`` at the device's ``rate``) to the started ``stream``."""
        # A real card paces stream.write() by its own clock. ALSA's null and file devices (and
        # some virtual ones) swallow everything at once, which would report a ten-minute
        # bulletin as played in milliseconds and start the next item on top of it; so never
        # run further ahead of the wall clock than the device's buffer could hold.
        block = max(1, int(rate * _STEP_S))
        written = 0
        underflows = 0
        interrupted = False
        started = time.time()
        t0 = time.monotonic()
        while True:
            elapsed = time.monotonic() - t0
            ahead = written / rate - elapsed
            allowance = stream.latency + _PACE_SLACK_S + _PACE_DRIFT * elapsed
            if stop.is_set() or (ahead > allowance and stop.wait(ahead - allowance)):
                interrupted = True
                tail = fade_out(out.read(int(rate * self._fade_s)))
                if len(tail):
                    stream.write(np.repeat(tail[:, np.newaxis], self._channels, axis=1))
                    written += len(tail)
                break
            piece = out.read(block)
            if not piece.size:
                break
            frames = np.repeat(piece[:, np.newaxis], self._channels, axis=1)
            underflows += bool(stream.write(frames))
            written += len(piece)
        if not interrupted:
            interrupted = stop.wait(max(0.0, written / rate - (time.monotonic() - t0)))
        if interrupted:
            if self._fade_s:
                stream.stop()  # lets the fade be heard
            else:
                stream.abort()  # drops what is still buffered: the pre-empting item starts now
            played = min(written, round((time.monotonic() - t0) * rate))
            frames_in = min(source.consumed, played * sample_rate // rate)
        else:
            stream.stop()  # returns once the buffered tail has been heard
            frames_in = source.consumed
        if underflows:
            log.warning("%s: %d output underflows (audible gaps)", self._name, underflows)
        return _record(started, time.time(), frames_in, sample_rate, interrupted)


class WavFileSink:
    """A simulated loudspeaker: each item becomes ``<label>.wav`` plus ``<label>.json``.

    The WAV holds exactly what was "heard" (a pre-empted item is cut where it stopped) as 16-bit
    mono PCM at the item's rate; the JSON holds the :class:`PlaybackRecord` plus the label. Both
    appear atomically, the JSON last, and replace an earlier item of the same label.
    With ``realtime=False`` an item is written at once (for fast simulations), and ``stop`` is
    only looked at before starting. With ``fade_s``, a stopped item fades out over that long
    (and the fade is in the file) instead of stopping dead.
    """

    def __init__(self, directory: Path | str, realtime: bool = True, fade_s: float = 0.0) -> None:
        self.directory = Path(directory)
        self.realtime = realtime
        self.fade_s = max(0.0, fade_s)

    def play(
        self,
        samples: Audio,
        sample_rate: int,
        *,
        label: str,
        stop: threading.Event | None = None,
        gain: float = 1.0,
        start_at: float | None = None,
    ) -> PlaybackRecord:
        check_request(sample_rate, label=label, gain=gain)
        source = BlockReader(samples, gain)
        stop = stop if stop is not None else threading.Event()
        wav_path = self.directory / f"{label}.wav"
        try:
            # Opened before "playing", so an unwritable directory fails before the airtime.
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = _temp_file(self.directory, label)
        except OSError as exc:
            raise SinkError(f"cannot write to {self.directory}: {exc.strerror or exc}") from exc
        try:
            with tmp, wave.open(tmp, "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(sample_rate)
                if wait_until(start_at, stop):
                    record = _record(time.time(), time.time(), 0, sample_rate, True)
                else:
                    record = self._play_into(wav, source, sample_rate, stop)
                wav.close()  # writes the final header before the fsync
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp.name, wav_path)
            _write_atomic(self.directory / f"{label}.json", {"label": label, **asdict(record)})
        except OSError as exc:
            Path(tmp.name).unlink(missing_ok=True)
            raise SinkError(f"cannot write {wav_path}: {exc.strerror or exc}") from exc
        return record

    def play_stream(
        self,
        blocks: Iterable[Samples],
        sample_rate: int,
        *,
        label: str,
        stop: threading.Event | None = None,
        gain: float = 1.0,
        start_at: float | None = None,
    ) -> PlaybackRecord:
        """See :meth:`AudioSink.play_stream`: ``play`` already reads its source block by
        block as its clock asks, which is what a stream needs."""
        return self.play(
            _streamed(blocks), sample_rate, label=label, stop=stop, gain=gain, start_at=start_at
        )

    def _play_into(
        self, wav: wave.Wave_write, source: BlockReader, sample_rate: int, stop: threading.Event
    ) -> PlaybackRecord:
        started = time.time()
        written = 0
        if not self.realtime:
            if stop.is_set():
                return _record(started, time.time(), 0, sample_rate, not source.empty())
            for piece in source.pieces(sample_rate):
                wav.writeframes(to_int16(piece).tobytes())
                written += piece.size
            return _record(started, time.time(), written, sample_rate, False)
        t0 = time.monotonic()
        step = max(1, int(sample_rate * _STEP_S))
        # Frames go to the file as their time comes, so what is on disk is what was "heard".
        while True:
            interrupted = stop.is_set()
            due = math.floor((time.monotonic() - t0) * sample_rate)
            if due > written:
                piece = source.read(due - written)
                wav.writeframes(to_int16(piece).tobytes())
                written += piece.size
            left = source.remaining(step)
            if interrupted or left == 0:
                break
            stop.wait(_STEP_S if left is None else left / sample_rate)
        if interrupted and self.fade_s:
            tail = fade_out(source.read(int(sample_rate * self.fade_s)))
            wav.writeframes(to_int16(tail).tobytes())
            written += len(tail)
            time.sleep(len(tail) / sample_rate)
        # The last sample leaves on the simulated card's clock, not when this thread next
        # wakes: on a busy machine that wake-up is tens of milliseconds late.
        return _record(started, started + written / sample_rate, written, sample_rate, interrupted)


def _temp_file(directory: Path, label: str) -> IO[bytes]:
    return tempfile.NamedTemporaryFile(
        dir=directory, prefix=f".{label}.", suffix=".tmp", delete=False
    )


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    with _temp_file(path.parent, path.stem) as tmp:
        try:
            tmp.write(json.dumps(data, indent=2).encode())
            tmp.flush()
            os.fsync(tmp.fileno())
        except OSError:
            Path(tmp.name).unlink(missing_ok=True)
            raise
    os.replace(tmp.name, path)


def make_sink(kind: str, **options: Any) -> AudioSink:
    """The sink a node's config names: ``"sounddevice"`` or ``"wav"``, with its options."""
    if kind == "sounddevice":
        return SounddeviceSink(**options)
    if kind == "wav":
        return WavFileSink(**options)
    raise ValueError(f"unknown audio sink {kind!r}; expected 'sounddevice' or 'wav'")
