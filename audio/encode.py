"""Write mono float32 ``(n,)`` audio; the container follows the file extension.

* ``.ogg`` / ``.opus``: Opus in Ogg via PyAV (libopus), speech bitrate (default 32 kbit/s),
  ``application=audio`` at complexity 0 in 60 ms packets at constant bit rate — chosen by
  measurement, see BENCHMARKS.md (in 20 ms packets libopus's VBR spent about 49 kbit/s on
  speech asked for 32; below complexity 7 libopus does not analyse the signal and codes
  speech as music: 3.2 PESQ-WB through the chain instead of 4.1, at three times the time).
* ``.wav``: 16-bit PCM (standard library ``wave``).
* ``.mp3``: MP3 via PyAV (libmp3lame), constant bitrate (default 32 kbit/s, mono).

Rates the codec cannot take are resampled first (Opus: 8/12/16/24/48 kHz; MP3: the MPEG rates).
"""

from __future__ import annotations

import wave
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import numpy as np

from audio import opus
from audio.errors import UnsupportedFormatError
from audio.resample import resample, resample_stream
from audio.samples import as_mono, check_finite, check_rate, reblock

MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
EXTENSIONS = (".ogg", ".opus", ".wav", ".mp3")
_FRAME = 4800


def container_for(path: Path) -> str:
    """``"ogg"``, ``"wav"`` or ``"mp3"`` from the extension; error for anything else."""
    ext = Path(path).suffix.lower()
    if ext in (".ogg", ".opus"):
        return "ogg"
    if ext in (".wav", ".mp3"):
        return ext[1:]
    raise UnsupportedFormatError(
        f"cannot write {Path(path).name}: choose an output ending in {', '.join(EXTENSIONS)}"
    )


def _codec_rate(sr: int, allowed: tuple[int, ...]) -> int:
    """The smallest allowed rate at or above ``sr`` (never throw bandwidth away)."""
    for r in allowed:
        if r >= sr:
            return r
    return allowed[-1]


def _write_wav(path: Path, x: np.ndarray, sr: int) -> None:
    pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def _write_mp3(path: Path, blocks: Iterable[np.ndarray], sr: int, *, bitrate: int) -> None:
    # bitexact: no encoder tag, so the same audio always encodes to the same bytes
    with av.open(str(path), mode="w", format="mp3", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libmp3lame", rate=sr)
        assert isinstance(stream, av.AudioStream)
        stream.bit_rate = bitrate
        stream.layout = "mono"
        stream.format = "s16"
        start = 0
        for block in reblock(blocks, _FRAME):
            pcm = np.clip(np.round(block * 32767.0), -32768, 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
            frame.sample_rate = sr
            frame.pts = start
            start += pcm.size
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary name next to ``path``, renamed to ``path`` when the block completes: a failure
    never leaves a half-written file under the final name."""
    tmp = path.with_name(f".{path.name}.part")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_audio(
    path: Path,
    x: np.ndarray,
    sr: int,
    *,
    bitrate: int = 32000,
    opus_complexity: int = 0,
    opus_application: str = "audio",
    opus_frame_ms: float = 60.0,
    opus_vbr: str = "off",
) -> int:
    """Write ``x`` (mono float32 ``(n,)``, ±1.0 full scale) to ``path``; returns the rate written.

    The file appears under its name only when complete (:func:`replacing`).
    """
    sr = check_rate(sr)
    y = as_mono(x)
    check_finite(y)
    path = Path(path)
    kind = container_for(path)
    with replacing(path) as tmp:
        if kind == "wav":
            _write_wav(tmp, y, sr)
            out_rate = sr
        elif kind == "ogg":
            out_rate = _codec_rate(sr, opus.RATES)
            opts = opus.options(
                complexity=opus_complexity,
                application=opus_application,
                frame_ms=opus_frame_ms,
                vbr=opus_vbr,
            )
            stream = opus.encode(resample(y, sr, out_rate), out_rate, bitrate=bitrate, opts=opts)
            opus.write(tmp, stream)
        else:
            out_rate = _codec_rate(sr, MP3_RATES)
            _write_mp3(tmp, [resample(y, sr, out_rate)], out_rate, bitrate=bitrate)
    return out_rate


def write_blocks(path: Path, blocks: Iterable[np.ndarray], sr: int, *, bitrate: int = 32000) -> int:
    """:func:`write_audio` (Opus or MP3, default settings) for a signal that arrives in mono
    blocks, encoded as they come: memory stays at a few blocks whatever the length (a stored
    30-minute bulletin decoded whole at 48 kHz is 350 MB). The same file as ``write_audio`` of
    the concatenation when ``sr`` is a rate the codec takes; otherwise resampled on the way
    (:func:`audio.resample.resample_stream`, equal to float32 precision). Returns the rate
    written; non-finite samples are an error, as there."""
    sr = check_rate(sr)
    path = Path(path)
    kind = container_for(path)
    if kind == "wav":
        raise UnsupportedFormatError(f"cannot write {path.name} block by block: Opus or MP3 only")
    out_rate = _codec_rate(sr, opus.RATES if kind == "ogg" else MP3_RATES)
    finite = (_checked(b) for b in blocks)
    pcm = finite if out_rate == sr else resample_stream(finite, sr, out_rate, clip=False)
    with replacing(path) as tmp:
        if kind == "ogg":
            opts = opus.options(complexity=0, application="audio", frame_ms=60.0, vbr="off")
            packets = opus.encode_blocks(pcm, out_rate, bitrate=bitrate, opts=opts)
            opus.write_packets(tmp, packets, out_rate, bitrate=bitrate, opts=opts)
        else:
            _write_mp3(tmp, pcm, out_rate, bitrate=bitrate)
    return out_rate


def _checked(block: np.ndarray) -> np.ndarray:
    y = as_mono(block)
    check_finite(y)
    return y
