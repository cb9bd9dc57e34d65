"""Where a node's audio finally goes: the sound card, or WAV files for simulated nodes.

Both sinks take float32 mono ``(n,)`` samples in [-1, 1], block for the audio's real duration
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
import re
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from audio.resample import resample

log = logging.getLogger(__name__)

Samples = NDArray[np.float32]

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
_LABEL_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")


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
        samples: Samples,
        sample_rate: int,
        *,
        label: str,
        stop: threading.Event | None = None,
        gain: float = 1.0,
        start_at: float | None = None,
    ) -> PlaybackRecord: ...


def prepare(samples: NDArray[Any], sample_rate: int, *, label: str, gain: float) -> Samples:
    """Check a play request and apply the gain; raises ValueError and plays nothing if bad."""
    if not _LABEL_RE.fullmatch(label):
        raise ValueError(
            f"label {label!r} must be 1-200 of A-Z a-z 0-9 . _ - and not start with '.'"
            " (it names files on simulated nodes)"
        )
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive int, got {sample_rate!r}")
    if not (math.isfinite(gain) and gain >= 0):
        raise ValueError(f"gain must be finite and >= 0, got {gain!r}")
    if not isinstance(samples, np.ndarray) or samples.ndim != 1:
        shape = getattr(samples, "shape", type(samples).__name__)
        raise ValueError(f"samples must be a mono numpy array of shape (n,), got {shape}")
    if not np.issubdtype(samples.dtype, np.floating):
        raise ValueError(f"samples must be float in [-1, 1], got dtype {samples.dtype}")
    if not np.all(np.isfinite(samples)):
        raise ValueError("samples contain NaN or infinity")
    # Clipping rather than refusing: a limiter's overshoot of a few ppm, or a gain above 1,
    # must not cost a bulletin its airing.
    out = samples.astype(np.float32) * np.float32(gain)
    return np.clip(out, -1.0, 1.0, out=out)


def to_int16(x: Samples) -> NDArray[np.int16]:
    """Float [-1, 1] to 16-bit PCM, scaled and clipped as ALSA and PortAudio do."""
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def resample_chunks(
    x: Samples, sr_in: int, sr_out: int, *, chunk_s: float = _RESAMPLE_CHUNK_S
) -> Iterator[Samples]:
    """``audio.resample.resample`` of the whole of ``x``, delivered in pieces as it is made.

    ``resample`` converts a whole signal before returning; a sink needs the first piece at once.
    Each piece is resampled with enough neighbouring input on both sides to cover the filter
    (``10 * max(up, down)`` taps either side in the upsampled domain), and piece boundaries
    fall on multiples of ``down`` so every output sample keeps its exact position.
    """
    g = math.gcd(sr_in, sr_out)
    up, down = sr_out // g, sr_in // g
    n = len(x)
    ctx = math.ceil(math.ceil(10 * max(up, down) / up + 1) / down) * down
    step = max(down, int(sr_in * chunk_s) // down * down)
    for a in range(0, n, step):
        b = min(a + step, n)
        seg = np.zeros(b - a + 2 * ctx, dtype=np.float32)
        lo, hi = max(a - ctx, 0), min(b + ctx, n)
        seg[lo - (a - ctx) : hi - (a - ctx)] = x[lo:hi]
        y = resample(seg, sr_in, sr_out)
        first = ctx * up // down
        count = -(-b * up // down) - a * up // down
        yield np.clip(y[first : first + count], -1.0, 1.0)


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
        samples: Samples,
        sample_rate: int,
        *,
        label: str,
        stop: threading.Event | None = None,
        gain: float = 1.0,
        start_at: float | None = None,
    ) -> PlaybackRecord:
        x = prepare(samples, sample_rate, label=label, gain=gain)
        stop = stop if stop is not None else threading.Event()
        if stop.is_set() or len(x) == 0:
            now = time.time()
            return _record(now, now, 0, sample_rate, len(x) > 0)
        rate = self._stream_rate(sample_rate)
        chunks = iter([x]) if rate == sample_rate else resample_chunks(x, sample_rate, rate)
        total = -(-len(x) * rate // sample_rate)
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
                stream,
                chunks,
                total=total,
                rate=rate,
                sample_rate=sample_rate,
                n_in=len(x),
                stop=stop,
            )
        except self._sd.PortAudioError as exc:
            raise SinkError(f"{self._name} failed while playing {label}: {exc}") from exc
        finally:
            stream.close()  # discards anything still buffered, without waiting for it

    def _stream_out(
        self,
        stream: Any,
        chunks: Iterator[Samples],
        *,
        total: int,
        rate: int,
        sample_rate: int,
        n_in: int,
        stop: threading.Event,
    ) -> PlaybackRecord:
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
        for chunk in chunks:
            for i in range(0, len(chunk), block):
                elapsed = time.monotonic() - t0
                ahead = written / rate - elapsed
                allowance = stream.latency + _PACE_SLACK_S + _PACE_DRIFT * elapsed
                if stop.is_set() or (ahead > allowance and stop.wait(ahead - allowance)):
                    interrupted = True
                    tail = fade_out(chunk[i : i + int(rate * self._fade_s)])
                    if len(tail):
                        stream.write(np.repeat(tail[:, np.newaxis], self._channels, axis=1))
                        written += len(tail)
                    break
                piece = chunk[i : i + block]
                frames = np.repeat(piece[:, np.newaxis], self._channels, axis=1)
                underflows += bool(stream.write(frames))
                written += len(piece)
            if interrupted:
                break
        if not interrupted:
            interrupted = stop.wait(max(0.0, total / rate - (time.monotonic() - t0)))
        if interrupted and self._fade_s:
            stream.stop()  # lets the fade be heard
            played = min(written, round((time.monotonic() - t0) * rate))
            frames_in = min(n_in, played * sample_rate // rate)
        elif interrupted:
            stream.abort()  # drops what is still buffered: the pre-empting item starts now
            played = min(written, round((time.monotonic() - t0) * rate))
            frames_in = min(n_in, played * sample_rate // rate)
        else:
            stream.stop()  # returns once the buffered tail has been heard
            frames_in = n_in
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
        samples: Samples,
        sample_rate: int,
        *,
        label: str,
        stop: threading.Event | None = None,
        gain: float = 1.0,
        start_at: float | None = None,
    ) -> PlaybackRecord:
        pcm = to_int16(prepare(samples, sample_rate, label=label, gain=gain))
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
                    record = self._play_into(wav, pcm, sample_rate, stop)
                wav.close()  # writes the final header before the fsync
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp.name, wav_path)
            _write_atomic(self.directory / f"{label}.json", {"label": label, **asdict(record)})
        except OSError as exc:
            Path(tmp.name).unlink(missing_ok=True)
            raise SinkError(f"cannot write {wav_path}: {exc.strerror or exc}") from exc
        return record

    def _play_into(
        self, wav: wave.Wave_write, pcm: NDArray[np.int16], sample_rate: int, stop: threading.Event
    ) -> PlaybackRecord:
        n = len(pcm)
        started = time.time()
        if not self.realtime:
            frames = 0 if stop.is_set() else n
            wav.writeframes(pcm[:frames].tobytes())
            return _record(started, time.time(), frames, sample_rate, frames < n)
        t0 = time.monotonic()
        written = 0
        interrupted = False
        # Frames go to the file as their time comes, so what is on disk is what was "heard".
        while written < n:
            interrupted = stop.is_set()
            due = min(n, math.floor((time.monotonic() - t0) * sample_rate))
            wav.writeframes(pcm[written:due].tobytes())
            written = max(written, due)
            if interrupted or written >= n:
                break
            stop.wait(min(_STEP_S, (n - written) / sample_rate))
        if interrupted and self.fade_s and written < n:
            tail = pcm[written : written + int(sample_rate * self.fade_s)].astype(np.float32)
            wav.writeframes(np.round(fade_out(tail)).astype(np.int16).tobytes())
            written += len(tail)
            time.sleep(len(tail) / sample_rate)
        return _record(started, time.time(), written, sample_rate, interrupted)


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
