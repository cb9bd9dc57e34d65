"""Live input from anything PyAV reads (a file, a pipe, an HTTP stream): 48 kHz mono float32
blocks, decoded as they come, never the whole input at once.

Used by ``loa live FILE|-`` and by anything else that feeds the live path from a container
(a relay from a radio station's stream is the same loop). Raw PCM on a pipe has no header to
probe, so it is read as ``s16le`` at ``raw_rate``, one channel.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import av
import numpy as np

from audio.errors import UnsupportedFormatError

RATE = 48000


def decode_live(
    source: Path | str | IO[bytes],
    *,
    raw: bool = False,
    raw_rate: int = RATE,
    options: dict[str, str] | None = None,
) -> Iterator[np.ndarray]:
    """Blocks of ``source`` resampled to 48 kHz mono float32 in [-1, 1], in order.

    Raises :class:`UnsupportedFormatError` when PyAV cannot open it or it has no audio.
    """
    kwargs: dict[str, Any] = {"mode": "r", "options": dict(options or {})}
    if raw:
        kwargs["format"] = "s16le"
        kwargs["options"].update({"sample_rate": str(raw_rate), "ch_layout": "mono"})
    try:
        container: Any = av.open(source if not isinstance(source, Path) else str(source), **kwargs)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise UnsupportedFormatError(f"cannot open the live source: {exc}") from None
    try:
        if not container.streams.audio:
            raise UnsupportedFormatError("the live source has no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    except av.FFmpegError as exc:
        raise UnsupportedFormatError(f"the live source broke off: {exc}") from None
    finally:
        container.close()
