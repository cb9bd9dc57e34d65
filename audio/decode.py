"""Decode any phone or browser recording with PyAV into mono float32 ``(n,)``.

Handles M4A/AAC, AMR-NB/WB, 3GP, MP3, OGG/Opus, WebM/Opus, WAV, FLAC, and whatever else FFmpeg
reads. Decoding is packet by packet: FFmpeg's AMR-NB decoder rejects DTX comfort-noise (SID)
frames ("Not yet implemented") and some phones write corrupt frames, so rejected packets are
skipped and counted, and decoding fails only when nothing usable comes out.

Overlong input is refused before its samples are allocated: from the container's declared
duration when it has one, and otherwise as soon as the decoded length passes the limit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from audio.av_input import check_length, decoded_frames, frame_to_float, open_input
from audio.errors import CorruptAudioError, TooShortAudioError
from audio.resample import resample

log = logging.getLogger(__name__)

DEAD_CHANNEL_DB = -40.0  # a channel this far below the loudest one carries nothing usable


@dataclass
class Decoded:
    """A decoded recording: ``samples`` are float32 mono ``(n,)`` at ``sample_rate`` Hz."""

    samples: np.ndarray
    sample_rate: int
    source_format: str
    codec: str
    channels: int
    source_rate: int
    skipped_packets: int
    total_packets: int
    nonfinite_samples: int
    dropped_channels: list[int]

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sample_rate if self.sample_rate else 0.0

    @property
    def skipped_share(self) -> float:
        return self.skipped_packets / self.total_packets if self.total_packets else 0.0


def to_mono(frames: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Mix ``(n, channels)`` down to ``(n,)``, leaving out dead channels.

    A channel more than 40 dB below the loudest is dropped (a phone's unused microphone, a
    broken cable) so it does not halve the level or add its hiss; if the mix of the live
    channels loses more than 6 dB against them (channels in opposite polarity) the loudest
    channel is used alone. Returns the mono signal and the indices of dropped channels.
    """
    if frames.ndim == 1:
        return frames.astype(np.float32, copy=False), []
    if frames.shape[1] == 1:
        return np.ascontiguousarray(frames[:, 0], dtype=np.float32), []
    step = max(1, frames.shape[0] // 500_000)
    probe = frames[::step].astype(np.float64)
    probe = np.where(np.isfinite(probe), probe, 0.0)
    power = np.mean(probe**2, axis=0)
    loudest = float(power.max())
    if loudest == 0.0:
        return np.ascontiguousarray(frames.mean(axis=1), dtype=np.float32), []
    live = [c for c in range(frames.shape[1]) if power[c] >= loudest * 10 ** (DEAD_CHANNEL_DB / 10)]
    dropped = [c for c in range(frames.shape[1]) if c not in live]
    mix_probe = probe[:, live].mean(axis=1)
    if np.mean(mix_probe**2) < 0.25 * np.mean(power[live]):
        best = int(np.argmax(power))
        return np.ascontiguousarray(frames[:, best], dtype=np.float32), [
            c for c in range(frames.shape[1]) if c != best
        ]
    mono = frames[:, live].mean(axis=1) if len(live) > 1 else frames[:, live[0]]
    return np.ascontiguousarray(mono, dtype=np.float32), dropped


def _mix_chunks(chunks: list[np.ndarray]) -> tuple[np.ndarray, int, list[int]]:
    """Mix decoded ``(samples, channels)`` chunks into one preallocated mono array.

    Non-finite samples become 0 (and are counted). Channel choice as in :func:`to_mono`, decided
    on a decimated probe of the whole recording; chunks are released as they are copied, so
    peak memory is the decoded chunks plus the mono result.
    """
    if len(chunks) == 1 and chunks[0].shape[1] == 1:
        # one mono block (see Accumulator): its column is the result, no second copy
        only = np.ascontiguousarray(chunks.pop()[:, 0])
        bad = ~np.isfinite(only)
        count = int(np.count_nonzero(bad))
        if count:
            only[bad] = 0.0
        return only, count, []
    width = max(c.shape[1] for c in chunks)
    total = sum(c.shape[0] for c in chunks)
    step = max(1, total // 500_000)
    probe = np.concatenate(
        [c[::step] if c.shape[1] == width else np.repeat(c[::step, :1], width, 1) for c in chunks]
    )
    _, dropped = to_mono(np.where(np.isfinite(probe), probe, 0.0).astype(np.float32))
    keep = [ch for ch in range(width) if ch not in dropped]
    mono = np.empty(total, dtype=np.float32)
    nonfinite = 0
    pos = 0
    chunks.reverse()
    while chunks:
        c = chunks.pop()
        if c.shape[1] != width:
            c = np.repeat(c[:, :1], width, axis=1)
        part = c[:, keep[0]] if len(keep) == 1 else c[:, keep].mean(axis=1)
        bad = ~np.isfinite(part)
        if bad.any():
            nonfinite += int(np.count_nonzero(~np.isfinite(c[:, keep])))
            part = np.where(bad, np.float32(0.0), part)
        mono[pos : pos + part.size] = part
        pos += part.size
    return mono, nonfinite, dropped


_MAX_PREALLOC = 1 << 28  # float32 samples


class Accumulator:
    """Decoded ``(samples, channels)`` frames gathered into one growing block.

    Sized from the container's declared duration when there is one, so the whole recording
    is held once (not as thousands of small arrays plus their concatenation). A change of
    the channel count mid-stream falls back to a plain list of chunks.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(capacity, 0)
        self.buf: np.ndarray | None = None
        self.pos = 0
        self.chunks: list[np.ndarray] = []

    def __bool__(self) -> bool:
        return self.pos > 0 or bool(self.chunks)

    def append(self, data: np.ndarray) -> None:
        if self.chunks or (self.buf is not None and data.shape[1] != self.buf.shape[1]):
            if self.buf is not None:
                self.chunks.append(self.buf[: self.pos])
                self.buf, self.pos = None, 0
            self.chunks.append(data)
            return
        n = data.shape[0]
        if self.buf is None:
            # a declared duration is only a hint: at most 1 GB up front, grown beyond that
            cap = min(self.capacity, _MAX_PREALLOC // max(data.shape[1], 1))
            self.buf = np.empty((max(cap, n, 1), data.shape[1]), dtype=np.float32)
        elif self.pos + n > self.buf.shape[0]:
            grown = np.empty(
                (max(self.buf.shape[0] * 3 // 2, self.pos + n), self.buf.shape[1]),
                dtype=np.float32,
            )
            grown[: self.pos] = self.buf[: self.pos]
            self.buf = grown
        self.buf[self.pos : self.pos + n] = data
        self.pos += n

    def to_chunks(self) -> list[np.ndarray]:
        if self.chunks:
            return self.chunks
        return [] if self.buf is None else [self.buf[: self.pos]]


def decode_file(
    path: Path, *, target_sr: int | None = None, max_seconds: float = 3600.0
) -> Decoded:
    """Decode ``path`` to mono float32, resampled to ``target_sr`` if given.

    Raises :class:`UnsupportedFormatError` (not audio / no audio stream),
    :class:`CorruptAudioError` (nothing decodable), :class:`TooShortAudioError` (no samples),
    :class:`TooLongAudioError` (longer than ``max_seconds``).
    """
    path = Path(path)
    source = open_input(path, max_seconds)
    with source.container:
        ctx = source.stream.codec_context
        rate, declared = source.rate, source.declared
        hint = int(declared * rate * 1.01) + rate if declared is not None and rate else 0
        chunks = Accumulator(hint)
        decoded_samples = 0
        channels = int(ctx.channels or 0)
        try:
            for frame in decoded_frames(source):
                rate = int(frame.sample_rate) or rate
                data = frame_to_float(frame)
                channels = data.shape[1]
                decoded_samples += data.shape[0]
                check_length(path, decoded_samples, rate, max_seconds)
                chunks.append(data)
        except av.FFmpegError as exc:
            if not chunks:
                raise CorruptAudioError(f"{path.name}: cannot be decoded ({exc})") from exc
            log.warning("%s: decoding stopped early: %s", path.name, exc)
        fmt = source.container.format.name
        codec = ctx.name
    total, skipped = source.total_packets, source.skipped_packets
    if not chunks:
        if total and skipped == total:
            raise CorruptAudioError(
                f"{path.name}: none of the {total} audio packets could be decoded"
            )
        raise TooShortAudioError(f"{path.name}: the file contains no audio samples")
    parts = chunks.to_chunks()
    del chunks
    width = max(c.shape[1] for c in parts)
    mono, nonfinite, dropped = _mix_chunks(parts)
    del parts
    if mono.size == 0:
        raise TooShortAudioError(f"{path.name}: the file contains no audio samples")
    out_rate = rate
    if target_sr is not None and target_sr != rate:
        mono = resample(mono, rate, target_sr)
        out_rate = target_sr
    return Decoded(
        samples=mono,
        sample_rate=out_rate,
        source_format=fmt,
        codec=codec,
        channels=channels or width,
        source_rate=rate,
        skipped_packets=skipped,
        total_packets=total,
        nonfinite_samples=nonfinite,
        dropped_channels=dropped,
    )
