"""A station's stream as 48 kHz mono float32 blocks (the live path's input), decoded as it
comes; any failure is a :class:`SourceError` whose ``kind`` the report shows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import av
import numpy as np

from controller.relay.fetch import GuardedStream, Limits, SourceError
from controller.relay.hls import HlsStream, is_hls

RATE = 48000
# A live stream has no end to probe: read a little to know the codec, then go (FFmpeg's own
# defaults wait for 5 s of audio, which the points would hear as a late start). Only demuxers
# that read one stream from what they are given: no playlist or concat demuxer that would open
# URLs of its own past the guard (HLS is read by controller/relay/hls.py instead).
PROBE = {
    "probesize": "32768",
    "analyzeduration": "500000",
    "format_whitelist": "mp3,aac,ogg,mpegts,mov,mp4,m4a,matroska,webm,wav,flac",
}


def open_stream(url: str, limits: Limits) -> GuardedStream | HlsStream:
    stream = GuardedStream(url, limits)
    if is_hls(stream.url, stream.content_type):
        stream.close()
        return HlsStream(url, limits)
    return stream


def pull(url: str, limits: Limits) -> Iterator[np.ndarray]:
    """Blocks of the stream at ``url`` until it ends (then ``SourceError("ended")``)."""
    source = open_stream(url, limits)
    try:
        container: Any = av.open(source, "r", options=PROBE)
    except (av.FFmpegError, OSError, ValueError) as exc:
        # bytes came but PyAV found no stream in them: the URL is not a station's stream
        kind = "decode" if limits.received else "unreachable"
        failed = SourceError(kind, f"cannot open the stream: {exc}")
        source.close()
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
        source.close()
    raise limits.failure or SourceError("ended", "the station's stream ended")
