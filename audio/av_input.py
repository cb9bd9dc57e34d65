"""Opening audio files with PyAV and reading their frames as numpy arrays.

Imports only PyAV and numpy, so a node can decode without the DSP stack (scipy).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import InputContainer

from audio.errors import TooLongAudioError, TooShortAudioError, UnsupportedFormatError

log = logging.getLogger(__name__)

_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2147483648.0, "s64": 9.223372036854775808e18}
_DTYPES: dict[str, np.dtype[np.generic]] = {
    name: np.dtype(t)
    for name, t in [("u8", "u1"), ("s16", "<i2"), ("s32", "<i4"), ("s64", "<i8"), ("flt", "<f4")]
}


def frame_to_float(frame: av.AudioFrame) -> np.ndarray:
    """``(samples, channels)`` float32 from any PyAV sample format.

    Common formats are read straight from the frame's planes: a long recording has tens of
    thousands of frames, and ``to_ndarray`` (which stacks planes) costs more than decoding them.
    """
    fmt = frame.format
    channels = len(frame.layout.channels)
    name = fmt.name.rstrip("p")
    dtype = _DTYPES.get(name)
    if dtype is not None and (channels == 1 or not fmt.is_planar):
        raw = np.frombuffer(
            memoryview(frame.planes[0]), dtype=dtype, count=frame.samples * channels
        )
        arr: np.ndarray = raw.reshape(-1, channels)
        if name == "u8":
            arr = (arr.astype(np.float32) - 128.0) / 128.0
        elif name in _SCALE:
            arr = arr.astype(np.float32) / np.float32(_SCALE[name])
        else:
            arr = arr.copy()  # the frame's buffer is reused by the decoder
        return arr
    arr = frame.to_ndarray()
    arr = arr if fmt.is_planar else arr.reshape(-1, channels).T
    if name == "u8":
        out = (arr.astype(np.float32) - 128.0) / 128.0
    elif name in _SCALE:
        out = arr.astype(np.float32) / np.float32(_SCALE[name])
    else:
        out = arr.astype(np.float32)
    return np.ascontiguousarray(out.T)


def minutes(seconds: float) -> str:
    """A length as people say it in a refusal: "30 minutes", "1.5 minutes"."""
    value = round(seconds / 60, 1)
    return f"{value:g} minute{'' if value == 1 else 's'}"


def check_length(path: Path, samples: int, rate: int, max_seconds: float) -> None:
    """Stop as soon as the decoded length passes the limit: a file may declare no duration,
    or a false one, and a few kB/s of Opus expand a thousandfold once decoded."""
    if rate and samples > max_seconds * rate:
        raise TooLongAudioError(f"{path.name}: longer than the limit of {minutes(max_seconds)}")


@dataclass
class Input:
    """An open file's first audio track: ``rate`` as the decoder reports it, ``declared`` the
    container's own length in seconds (None when it gives none). Close ``container``."""

    path: Path
    container: InputContainer
    stream: AudioStream
    rate: int
    declared: float | None
    total_packets: int = 0
    skipped_packets: int = 0


def open_input(path: Path, max_seconds: float, *, wav_packet_bytes: int | None = None) -> Input:
    """Open ``path`` for decoding; refuses what is not audio, empty, or declared too long.
    ``wav_packet_bytes``: the WAV demuxer's packet size (FFmpeg's ``max_size``; other formats
    ignore it). The packet count is in the processing report, so only the check of a file
    the chain wrote itself changes it.

    Raises :class:`UnsupportedFormatError`, :class:`TooShortAudioError`, :class:`TooLongAudioError`.
    """
    if not path.is_file():
        raise UnsupportedFormatError(f"{path.name}: no such file")
    if path.stat().st_size == 0:
        raise TooShortAudioError(f"{path.name}: the file is empty (0 bytes)")
    options = {} if wav_packet_bytes is None else {"max_size": str(wav_packet_bytes)}
    try:
        container = av.open(str(path), mode="r", options=options)
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise UnsupportedFormatError(
            f"{path.name}: not a readable audio file ({exc.__class__.__name__}: {exc})"
        ) from exc
    try:
        if not container.streams.audio:
            raise UnsupportedFormatError(f"{path.name}: the file has no audio track")
        stream = container.streams.audio[0]
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        declared = None
        if stream.duration is not None and stream.time_base is not None:
            declared = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            declared = container.duration / 1_000_000
        if declared is not None and declared > max_seconds:
            raise TooLongAudioError(
                f"{path.name}: {minutes(declared)} long; the limit is {minutes(max_seconds)}"
            )
    except BaseException:
        container.close()
        raise
    return Input(path, container, stream, rate, declared)


def decoded_frames(source: Input) -> Iterator[av.AudioFrame]:
    """Every frame the decoder gives, packet by packet, then its last frames.

    Packets the decoder rejects (AMR-NB SID frames, corrupt frames) are skipped and counted in
    ``source``; a failure of the demuxer itself propagates (``av.FFmpegError``).
    """
    ctx = source.stream.codec_context
    for packet in source.container.demux(source.stream):
        if packet.size == 0 and packet.dts is None:
            continue
        source.total_packets += 1
        try:
            frames = ctx.decode(packet)
        except (av.FFmpegError, ValueError) as exc:
            source.skipped_packets += 1
            log.debug("skipping packet %d of %s: %s", source.total_packets, source.path.name, exc)
            continue
        yield from frames
    try:
        tail = ctx.decode(None)
    except (av.FFmpegError, ValueError):
        tail = []
    yield from tail
