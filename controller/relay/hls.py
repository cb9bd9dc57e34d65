"""HLS read by the relay itself: the playlist and each segment through the guard.

PyAV's own HLS demuxer opens each segment through the ``io_open`` hook, and FFmpeg aborts the
whole process when it closes one that way (seen with PyAV 18 and FFmpeg's HLS demuxer): a
station would take the controller down. So the relay reads the playlist (following a master
playlist to its first variant), fetches the segments in order through
:class:`~controller.relay.fetch.GuardedStream`, reloads a live playlist every half target
duration, and hands PyAV one continuous stream (MPEG-TS or ADTS segments follow each other as
one file; fMP4 segments follow their ``EXT-X-MAP`` init segment).
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from controller.relay.fetch import GuardedStream, Limits, read_small

MAP_URI = re.compile(r'URI="([^"]+)"')


@dataclass
class Playlist:
    url: str
    sequence: int = 0
    target_s: float = 6.0
    segments: list[str] = field(default_factory=list)
    init: str | None = None
    ended: bool = False
    variant: str | None = None


def parse(text: str, url: str) -> Playlist:
    if not text.lstrip().startswith("#EXTM3U"):
        raise ValueError("not an HLS playlist")
    out = Playlist(url)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF") and i + 1 < len(lines):
            out.variant = out.variant or urljoin(url, lines[i + 1])
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            out.sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            out.target_s = max(1.0, float(line.split(":", 1)[1]))
        elif line.startswith("#EXT-X-MAP:") and (found := MAP_URI.search(line)):
            out.init = urljoin(url, found.group(1))
        elif line.startswith("#EXT-X-ENDLIST"):
            out.ended = True
        elif not line.startswith("#") and (i == 0 or "STREAM-INF" not in lines[i - 1]):
            out.segments.append(urljoin(url, line))
    return out


def is_hls(url: str, content_type: str) -> bool:
    return url.split("?", 1)[0].lower().endswith(".m3u8") or "mpegurl" in content_type


class HlsStream(io.RawIOBase):
    """The segments of an HLS playlist as one read-only file."""

    def __init__(self, url: str, limits: Limits) -> None:
        super().__init__()
        self._limits = limits
        self._list = self._load(url)
        if self._list.variant is not None:
            self._list = self._load(self._list.variant)
        self._queue = [self._list.init] if self._list.init else []
        self._next = self._list.sequence
        self._current: GuardedStream | None = None

    def _load(self, url: str) -> Playlist:
        text, where = read_small(url, self._limits)
        try:
            return parse(text, where)
        except ValueError as exc:
            raise self._limits.fail("decode", f"{url}: {exc}") from None

    def _refill(self) -> bool:
        """Queue the segments not read yet; False at the end of the stream."""
        waited = 0.0
        while True:
            pl = self._list
            new = pl.segments[max(0, self._next - pl.sequence) :]
            if new:
                self._queue.extend(new)
                self._next = pl.sequence + len(pl.segments)
                return True
            if pl.ended:
                return False
            if waited > 3 * pl.target_s + self._limits.timeout_s:
                raise self._limits.fail("unreachable", "the playlist stopped growing")
            time.sleep(pl.target_s / 2)  # a live playlist grows by one segment per target
            waited += pl.target_s / 2
            self._list = self._load(pl.url)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self._current is not None:
                n = self._current.readinto(buffer)
                if n:
                    return n
                self._current.close()
                self._current = None
            if not self._queue and not self._refill():
                return 0
            self._current = GuardedStream(self._queue.pop(0), self._limits)

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
        super().close()
