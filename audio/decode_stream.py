"""Decode a file block by block, from any frame: playback that never holds a whole recording.

A node plays bulletins of up to 30 minutes on a Raspberry Pi; decoded whole at 48 kHz float32
that is 350 MB before any copy. :func:`open_stream` opens the file, seeks to the first frame
wanted and decodes until it holds the first samples, so a file that cannot be played fails
there (before its airtime) with the errors of :func:`audio.decode.decode_file`. Iterating the
:class:`AudioStream` then yields mono float32 ``(n,)`` blocks, one per decoded frame, equal
sample for sample to ``decode_file(path).samples[start:]`` for a mono file.

Unlike ``decode_file``, which decides on the whole recording which channels are dead, a
multi-channel file is mixed down frame by frame by averaging: what a node plays is the
controller's mono delivery encoding.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from audio.av_input import Input, decoded_frames, frame_to_float, minutes, open_input
from audio.errors import CorruptAudioError, EmptyAudioError, TooShortAudioError

log = logging.getLogger(__name__)

# Decoded before the resume point after a seek, and thrown away: a decoder starting cold on a
# packet needs a little history (Opus: 80 ms) to give the same samples as one that ran through.
SEEK_PREROLL_S = 1.0


@dataclass
class AudioStream:
    """An open file positioned at ``start``; iterate it once for its blocks, then ``close``.

    ``frames`` is the whole file's length in frames as its container declares it (None when it
    declares none); ``start`` and ``frames`` count frames at ``sample_rate``.
    """

    source: Input
    sample_rate: int
    start: int
    frames: int | None
    max_seconds: float
    _decoded: Iterator[av.AudioFrame]
    _first: np.ndarray  # the first block, decoded when opening

    def __iter__(self) -> Iterator[np.ndarray]:
        limit = int(self.max_seconds * self.sample_rate)
        position = self.start
        for block in itertools.chain([self._first], self._blocks()):
            if position + block.size > limit:
                # Opened within the limit by its declared length: a false declaration must not
                # make the node play on and on. What fits has been heard.
                log.warning("%s: stopped at the limit of %s", self.path, minutes(self.max_seconds))
                yield block[: max(0, limit - position)]
                return
            position += block.size
            yield block

    @property
    def path(self) -> str:
        return self.source.path.name

    def close(self) -> None:
        self.source.container.close()

    def __enter__(self) -> AudioStream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _blocks(self) -> Iterator[np.ndarray]:
        """Mono blocks from where decoding stands; a demuxer failure ends the stream (what
        decoded before it is played, as ``decode_file`` keeps it)."""
        try:
            for frame in self._decoded:
                yield mono(frame_to_float(frame))
        except av.FFmpegError as exc:
            log.warning("%s: decoding stopped early: %s", self.path, exc)


def mono(frames: np.ndarray) -> np.ndarray:
    """``(n, channels)`` to ``(n,)`` float32 by averaging; non-finite samples become 0."""
    x = frames[:, 0] if frames.shape[1] == 1 else frames.mean(axis=1)
    x = np.ascontiguousarray(x, dtype=np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        x[bad] = 0.0
    return x


def open_stream(path: Path, *, start: int = 0, max_seconds: float = 3600.0) -> AudioStream:
    """Open ``path`` for playback from frame ``start`` (at the decoder's rate).

    Raises what :func:`audio.decode.decode_file` raises for a file that cannot be played, and
    :class:`EmptyAudioError` when ``start`` lies at or past the end.
    """
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    path = Path(path)
    source = open_input(path, max_seconds)
    try:
        source, position, decoded = _seek(source, start)
        first = _skip_to(source, decoded, position, start)
    except BaseException:
        source.container.close()
        raise
    rate = source.rate
    frames = round(source.declared * rate) if source.declared is not None else None
    return AudioStream(source, rate, start, frames, max_seconds, decoded, first)


def _seek(source: Input, start: int) -> tuple[Input, int, Iterator[av.AudioFrame]]:
    """Seek to a little before ``start``: the input, the frame its next decoded frame starts
    at, and the decoded frames from there. From the beginning when the file cannot say where
    a seek landed."""
    preroll = int(SEEK_PREROLL_S * source.rate)
    st = source.stream
    if start <= preroll or st.time_base is None:
        return source, 0, decoded_frames(source)
    origin = st.start_time or 0
    try:
        source.container.seek(
            origin + int((start - preroll) / source.rate / st.time_base), stream=st, backward=True
        )
        st.codec_context.flush_buffers()
        decoded = decoded_frames(source)
        first = next(decoded, None)
    except av.FFmpegError as exc:
        log.info("%s: cannot seek (%s); decoding from the start", source.path.name, exc)
        first = None
    if first is not None and first.pts is not None and first.time_base is not None:
        at = round((first.pts - origin) * first.time_base * source.rate)
        if 0 <= at <= start:
            return source, at, itertools.chain([first], decoded)
    source.container.close()
    fresh = open_input(source.path, float("inf"))
    return fresh, 0, decoded_frames(fresh)


def _skip_to(
    source: Input, decoded: Iterator[av.AudioFrame], position: int, start: int
) -> np.ndarray:
    """Decode from ``position`` up to ``start`` and return the first block from there."""
    try:
        for frame in decoded:
            block = mono(frame_to_float(frame))
            if position + block.size > start:
                return block[start - position :]
            position += block.size
    except av.FFmpegError as exc:
        if not position and not start:
            raise CorruptAudioError(f"{source.path.name}: cannot be decoded ({exc})") from exc
        log.warning("%s: decoding stopped early: %s", source.path.name, exc)
    name = source.path.name
    if not position and source.total_packets and source.skipped_packets == source.total_packets:
        raise CorruptAudioError(
            f"{name}: none of the {source.total_packets} audio packets could be decoded"
        )
    if not position:
        raise TooShortAudioError(f"{name}: the file contains no audio samples")
    raise EmptyAudioError(f"{name}: nothing to play from frame {start} (the audio ends before)")
