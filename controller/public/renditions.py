"""The audio the public pages offer: Opus (small, for any recent phone) and MP3 (for old
phones and podcast apps), made once per stored audio with PyAV and kept in the data dir.

The delivery audio is tuned for horns; these are re-encoded from it, never from the original
recording, so the public hears exactly what aired. They are made ahead in the background
(``prepare``) as soon as a public bulletin goes through, and here on request as the fallback.
A file appears under its final name only when complete (``audio.encode.replacing``); one
rendition is made at a time in this process, since two makers of the same file would share its
temporary name.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from audio.decode_stream import open_stream
from audio.encode import write_blocks
from audio.errors import AudioError
from audio.resample import resample_stream
from controller.config import ControllerConfig

Kind = Literal["opus", "mp3"]


class RenditionError(Exception):
    """The stored audio cannot be read (missing after a partial restore, or damaged)."""


@dataclass(frozen=True)
class Format:
    suffix: str  # of the cached file; its container follows it (``audio.encode``)
    mime: str
    bitrate: int  # bit/s: speech, mono, for a 2G/3G link


FORMATS: dict[Kind, Format] = {
    "opus": Format(".ogg", "audio/ogg", 24_000),
    "mp3": Format(".mp3", "audio/mpeg", 32_000),
}
# MP3 at 32 kbit/s is clearest at 22.05 kHz (LAME low-passes higher rates at this bitrate).
MP3_RATE = 22_050
_making = threading.Lock()


def folder(config: ControllerConfig) -> Path:
    return config.data_dir / "public-audio"


def path(config: ControllerConfig, audio_sha256: str, kind: Kind) -> Path:
    """Where the ``kind`` rendition of ``audio_sha256`` is kept (it may not be made yet)."""
    return folder(config) / f"{audio_sha256}{FORMATS[kind].suffix}"


def rendition(config: ControllerConfig, audio_sha256: str, kind: Kind) -> Path:
    """The ``kind`` rendition of stored audio ``audio_sha256``, made now if it is missing;
    RenditionError if the stored audio cannot be read."""
    out = path(config, audio_sha256, kind)
    if out.exists():
        return out
    with _making:
        if not out.exists():  # made while this request waited
            _make(config, audio_sha256, kind, out)
    return out


def _make(config: ControllerConfig, audio_sha256: str, kind: Kind, out: Path) -> None:
    """Decoded, resampled and encoded block by block: a rendition is made while the same
    bulletin goes out to every point, and decoded whole a 3-minute bulletin took 50 MB of the
    controller at its peak (48 kHz float32, then 22.05 kHz for MP3; a 30-minute one, 500 MB)."""
    fmt = FORMATS[kind]
    source = config.audio_dir / f"{audio_sha256}.ogg"
    try:
        stream = open_stream(source)
    except (OSError, AudioError) as exc:
        raise RenditionError(f"stored audio {source.name} cannot be read: {exc}") from exc
    with stream:
        blocks: Iterable[np.ndarray] = stream
        rate = stream.sample_rate
        if kind == "mp3" and rate != MP3_RATE:
            blocks, rate = resample_stream(stream, rate, MP3_RATE, clip=False), MP3_RATE
        out.parent.mkdir(parents=True, exist_ok=True)
        write_blocks(out, blocks, rate, bitrate=fmt.bitrate)
