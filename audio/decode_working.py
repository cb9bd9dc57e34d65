"""Step 1 of the chain in one stream: decode, mix to mono, measure, resample to the working rate.

:func:`audio.decode.decode_file` holds the whole recording at its own rate (10 minutes of
48 kHz are 115 MB of float32, plus the mix's copies) before the chain measures it and
resamples it. Here every decoded block is mixed, measured (:class:`audio.stream_meter.
StreamMeter`) and resampled (:func:`audio.resample.resample_stream`) as it comes, so only the
working-rate signal (a third of that at 16 kHz) is ever whole in memory. The results are those
of ``decode_file`` then ``describe`` then ``resample``, with the decoder's limits kept: the
length limit enforced while decoding, rejected packets skipped and counted, NaN/inf samples
zeroed and counted.

Dead channels (:func:`audio.decode.to_mono`) can only be told from the whole recording, so a
file with more than one channel is decoded twice: a first pass sums each channel's power and
their cross products (what any mix's power is made of) without keeping samples, and decides;
the second mixes. A file declared mono that turns out wider is started again that way.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from audio.av_input import Input, check_length, decoded_frames, frame_to_float, open_input
from audio.decode import DEAD_CHANNEL_DB, Accumulator, Decoded
from audio.errors import CorruptAudioError, TooShortAudioError
from audio.report import SignalReport
from audio.resample import resample_stream
from audio.stream_meter import StreamMeter

log = logging.getLogger(__name__)

_STEP_S = 2.0  # input resampled per piece: large enough to amortise, small next to the file


@dataclass
class WorkingInput:
    """A decoded recording: ``decoded.samples`` at the working rate, the input's measurements
    at its own rate, and its length in samples at that rate."""

    decoded: Decoded
    measured: SignalReport
    source_samples: int


@dataclass(frozen=True)
class _Mix:
    """Which channels make the mono signal: the mean of ``keep`` out of ``width``."""

    width: int
    keep: tuple[int, ...]
    dropped: tuple[int, ...]


class _WiderError(Exception):
    """A frame has more channels than the mix was planned for."""


def decode_working(path: Path, *, rate: int, max_seconds: float = 3600.0) -> WorkingInput:
    """Decode ``path`` to mono float32 at ``rate`` Hz, measuring it at its own rate on the way.

    Raises what :func:`audio.decode.decode_file` raises, for the same files.
    """
    got, _ = _decoded(Path(path), rate, max_seconds, _Meter())
    assert got.measured is not None  # never cut short without a level to cut at
    return WorkingInput(got.decoded, got.measured, got.source_samples)


@dataclass
class _Result:
    decoded: Decoded
    measured: SignalReport | None
    source_samples: int


@dataclass(frozen=True)
class FileMeasure:
    """A written file measured in a stream: ``describe`` of its decoded samples and, when
    asked, where its true-peak envelope exceeds a level (:func:`audio.truepeak.
    true_peak_over` of them) at the decoded ``sample_rate``."""

    report: SignalReport | None  # None: the true peak passed ``enough_above``
    over: np.ndarray
    peaks: np.ndarray
    sample_rate: int


def measure_file(
    path: Path,
    *,
    max_seconds: float,
    over: float | None = None,
    enough_above: float | None = None,
) -> FileMeasure:
    """Decode ``path`` and measure it without holding it: the check of an encoded file
    (:mod:`audio.checked_encode`), whose decoded 48 kHz samples would be three times the
    working signal. ``enough_above``: a true peak above it rejects the file, so once one is
    found only the places over ``over`` are gathered on and ``report`` is None. Raises what
    :func:`audio.decode.decode_file` raises."""
    meter = _Meter(over, enough_above, _CHECK_WAV_PACKET_BYTES)
    got, overs = _decoded(Path(path), None, max_seconds, meter)
    return FileMeasure(got.measured, overs[0], overs[1], got.decoded.source_rate)


# A written WAV is read in packets of 8,192 16-bit mono samples instead of FFmpeg's default
# 1,024 at 16 kHz: an eighth of the per-frame work on the 10 minutes' check (0.46 -> 0.34 s CPU);
# larger packets were slower again (FFmpeg's own cost per packet grows past 16 kB).
_CHECK_WAV_PACKET_BYTES = 16384


@dataclass(frozen=True)
class _Meter:
    over: float | None = None
    enough_above: float | None = None
    wav_packet_bytes: int | None = None  # audio.av_input.open_input's


def _decoded(
    path: Path, rate: int | None, max_seconds: float, meter: _Meter
) -> tuple[_Result, tuple[np.ndarray, np.ndarray]]:
    packets = meter.wav_packet_bytes
    source = open_input(path, max_seconds, wav_packet_bytes=packets)
    declared = int(source.stream.codec_context.channels or 0)
    if declared <= 1:
        try:
            return _stream(source, rate, max_seconds, _Mix(1, (0,), ()), meter)
        except _WiderError:
            log.info("%s: declared mono, decodes wider: deciding the mix first", path.name)
    else:
        source.container.close()
    mix = _survey(open_input(path, max_seconds, wav_packet_bytes=packets), max_seconds)
    fresh = open_input(path, max_seconds, wav_packet_bytes=packets)
    return _stream(fresh, rate, max_seconds, mix, meter)


def _frames(source: Input, max_seconds: float) -> Iterator[tuple[int, np.ndarray]]:
    """``(rate, (samples, channels) float32)`` of every decoded frame, the length limit
    enforced as they come; a demuxer failure after some audio ends the stream (logged), before
    any is :class:`CorruptAudioError`; no audio at all is refused as ``decode_file`` does."""
    path = source.path
    decoded = 0
    rate = source.rate
    try:
        for frame in decoded_frames(source):
            rate = int(frame.sample_rate) or rate
            data = frame_to_float(frame)
            decoded += data.shape[0]
            check_length(path, decoded, rate, max_seconds)
            if data.shape[0]:
                yield rate, data
    except av.FFmpegError as exc:
        if not decoded:
            raise CorruptAudioError(f"{path.name}: cannot be decoded ({exc})") from exc
        log.warning("%s: decoding stopped early: %s", path.name, exc)
    if not decoded:
        total, skipped = source.total_packets, source.skipped_packets
        if total and skipped == total:
            raise CorruptAudioError(
                f"{path.name}: none of the {total} audio packets could be decoded"
            )
        raise TooShortAudioError(f"{path.name}: the file contains no audio samples")


def _survey(source: Input, max_seconds: float) -> _Mix:
    """First pass of a multichannel file: the channels' powers and cross products, and from
    them :func:`audio.decode.to_mono`'s choice."""
    with source.container:
        gram = np.zeros((0, 0))
        for _, frame in _frames(source, max_seconds):
            width = max(gram.shape[0], frame.shape[1])
            if width > gram.shape[0]:
                grown = np.zeros((width, width))
                grown[: gram.shape[0], : gram.shape[0]] = gram
                gram = grown
            data = _widened(frame, width)
            finite = np.where(np.isfinite(data), data, np.float32(0.0)).astype(np.float64)
            gram += finite.T @ finite
    return _choose(gram)


def _choose(gram: np.ndarray) -> _Mix:
    """:func:`audio.decode.to_mono`'s rule on the sums of products ``gram[i, j] = Σ x_i·x_j``:
    channels 40 dB under the loudest are dropped; if the live channels' mean loses more than
    6 dB against them (opposite polarity), the loudest alone."""
    width = gram.shape[0]
    power = np.diag(gram)
    loudest = float(power.max())
    if loudest == 0.0:
        return _Mix(width, tuple(range(width)), ())
    live = [c for c in range(width) if power[c] >= loudest * 10 ** (DEAD_CHANNEL_DB / 10)]
    dropped = tuple(c for c in range(width) if c not in live)
    w = np.full(len(live), 1.0 / len(live))
    if float(w @ gram[np.ix_(live, live)] @ w) < 0.25 * float(np.mean(power[live])):
        best = int(np.argmax(power))
        return _Mix(width, (best,), tuple(c for c in range(width) if c != best))
    return _Mix(width, tuple(live), dropped)


def _stream(
    source: Input, rate: int | None, max_seconds: float, mix: _Mix, how: _Meter
) -> tuple[_Result, tuple[np.ndarray, np.ndarray]]:
    """The pass that mixes, measures and resamples (``rate`` None: measures only)."""
    with source.container:
        frames = _frames(source, max_seconds)
        src_rate, first = next(frames)
        meter = StreamMeter(src_rate, over=how.over, enough_above=how.enough_above)
        counts = [0, 0]  # samples, non-finite samples
        declared = source.declared
        out = Accumulator(int(declared * rate * 1.01) + rate if declared and rate else 0)
        blocks = _mono(itertools.chain([(src_rate, first)], frames), mix, meter, counts)
        if rate is None:
            for _ in blocks:
                pass
        else:
            for piece in resample_stream(blocks, src_rate, rate, step_s=_STEP_S, clip=False):
                out.append(piece[:, None])
        fmt = source.container.format.name
        codec = source.stream.codec_context.name
    parts = out.to_chunks()
    samples = np.ascontiguousarray(parts[0][:, 0]) if parts else np.empty(0, np.float32)
    decoded = Decoded(
        samples=samples,
        sample_rate=rate or src_rate,
        source_format=fmt,
        codec=codec,
        channels=int(source.stream.codec_context.channels or 0) or mix.width,
        source_rate=src_rate,
        skipped_packets=source.skipped_packets,
        total_packets=source.total_packets,
        nonfinite_samples=counts[1],
        dropped_channels=list(mix.dropped),
    )
    measured = meter.report()
    return _Result(decoded, measured, counts[0]), meter.overs()


def _mono(
    frames: Iterator[tuple[int, np.ndarray]], mix: _Mix, meter: StreamMeter, counts: list[int]
) -> Iterator[np.ndarray]:
    """The frames mixed to mono with NaN/inf zeroed (and counted as ``decode_file`` counts
    them: every non-finite value of the kept channels), fed to the meter on their way. Frames
    (20 ms of Opus, 1024 samples of PCM) are gathered into blocks first: numpy's per-call cost
    on tens of thousands of frames would be a good part of the work."""
    rate = 0
    held: list[np.ndarray] = []
    size = 0
    for frame_rate, frame in frames:
        if rate and frame_rate != rate:
            raise CorruptAudioError(f"the sample rate changes mid-stream ({rate} → {frame_rate})")
        rate = frame_rate
        if frame.shape[1] > mix.width:
            raise _WiderError
        held.append(_widened(frame, mix.width))
        size += frame.shape[0]
        if size >= _BLOCK:
            yield _mixed(held, mix, meter, counts)
            held, size = [], 0
    if held:
        yield _mixed(held, mix, meter, counts)


_BLOCK = 1 << 15  # decoded samples mixed at a time


def _mixed(held: list[np.ndarray], mix: _Mix, meter: StreamMeter, counts: list[int]) -> np.ndarray:
    data = held[0] if len(held) == 1 else np.concatenate(held)
    keep = list(mix.keep)
    part = data[:, keep[0]] if len(keep) == 1 else data[:, keep].mean(axis=1)
    part = np.ascontiguousarray(part, dtype=np.float32)
    if not np.isfinite(part.max() + part.min()):  # no full-length mask for clean audio
        bad = ~np.isfinite(part)
        counts[1] += int(np.count_nonzero(~np.isfinite(data[:, keep])))
        part[bad] = 0.0
    counts[0] += part.size
    meter.feed(part)
    return part


def _widened(data: np.ndarray, width: int) -> np.ndarray:
    """A frame narrower than the file's widest as ``decode_file`` mixes it: its first channel
    in every place."""
    return data if data.shape[1] == width else np.repeat(data[:, :1], width, axis=1)
