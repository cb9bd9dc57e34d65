"""A station's stream as 48 kHz mono float32 blocks (the live path's input), decoded as it
comes; any failure is a :class:`SourceError` whose ``kind`` the report shows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import av
import numpy as np

from controller.relay.fetch import Limits, SourceError, opener

RATE = 48000


def pull(url: str, limits: Limits) -> Iterator[np.ndarray]:
    """Blocks of the stream at ``url`` until it ends (then ``SourceError("ended")``)."""
    try:
        container: Any = av.open(url, "r", io_open=opener(limits), timeout=limits.timeout_s)
    except (av.FFmpegError, OSError, ValueError) as exc:
        failed = SourceError("unreachable", f"cannot open the stream: {exc}")
        raise limits.failure or failed from None
    try:
        if not container.streams.audio:
            raise SourceError("decode", "the stream has no audio")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    except (av.FFmpegError, OSError) as exc:
        raise limits.failure or SourceError("decode", f"the stream broke off: {exc}") from None
    finally:
        container.close()
    raise limits.failure or SourceError("ended", "the station's stream ended")
