"""Pulls audio from the controller over the broker, chunk by chunk, into the cache.

The node asks (``content/req``) for a small window of chunks at a time and re-asks after a
timeout, so nothing large ever waits in the broker's queues and a download resumes where the
partial file ends after a reconnect or a restart.

The chunks come on each piece's shared topic (``shared_content_topic``: file and offset),
published once for every point waiting for that piece: the fetcher subscribes to a piece's topic
before it asks for it (``listen``), and leaves it once it has the piece or gives the file up, so
it receives what it asked for and not what the others fetch. It subscribes at QoS 0, so nothing
is queued for it while it is offline, and the window's timeout asks again for anything lost. A
piece that does not continue its file is skipped before it is decoded; only a piece it keeps
counts as progress. Pieces asked for by many points come in the order the controller gathered
them, not always in this node's order: a piece it asked for that arrives ahead of the one it
needs next is verified and held (at most its window), then written once the gap is filled.

What could leave a download waiting forever, and what happens instead (BENCHMARKS.md, "Downloads
that never finish"): the next byte it needs is always asked for (a shorter piece than it asked,
another point's, leaves a gap that is asked for at once, not at the next timeout); a partial
file already whole when the download starts (the node stopped between its last piece and the
check) is checked and finished, not asked for again from its end; one longer than the file, or
whole and wrong, is started again; and a file the controller serves at another size than the
command announced can never verify, so it fails with that reason instead of being asked for
again every timeout.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt

from node_agent.cache import AudioCache, CacheError
from protocol.limits import FETCH_WINDOW
from protocol.messages import Chunk, ChunkRequest, ChunkUnavailable
from protocol.topics import shared_content_topic

log = logging.getLogger(__name__)
WINDOW = FETCH_WINDOW
Listen = Callable[[str, int, bool], None]  # (sha256, offset, on): that piece's shared topic


def shared_chunks(client: mqtt.Client) -> Listen:
    """``listen`` for a paho client: subscribe (QoS 0) to a piece's shared topic, or leave."""

    def listen(sha256: str, offset: int, on: bool) -> None:
        topic = shared_content_topic(sha256, offset)
        if on:
            client.subscribe(topic, qos=0)
        else:
            client.unsubscribe(topic)

    return listen


@dataclass
class Download:
    sha256: str
    size: int
    requested_up_to: int = 0
    last_progress: float = field(default_factory=time.monotonic)
    listening: set[int] = field(default_factory=set)  # offsets whose shared topic it reads
    ahead: dict[int, bytes] = field(default_factory=dict)  # verified pieces past the gap


class Fetcher:
    def __init__(
        self,
        cache: AudioCache,
        request: Callable[[ChunkRequest], None],
        chunk_size: int,
        timeout_s: float,
        listen: Listen | None = None,
    ) -> None:
        """``listen`` subscribes to a piece's shared topic; None: pieces come some other way
        (a test that hands them over)."""
        self.cache = cache
        self._request = request
        self._listen = listen or (lambda _sha, _offset, _on: None)
        self.chunk_size = chunk_size
        self.timeout_s = timeout_s
        self.active: dict[str, Download] = {}

    def want(self, sha256: str, size: int, *, online: bool) -> bool:
        """Start (or resume) a download; True when the file is in the cache already (a partial
        file that was whole), so nothing is fetched. CacheError when there is no room for it."""
        if self.cache.has(sha256):
            return True
        if sha256 in self.active:
            return False
        if self._whole_partial(sha256, size):
            return True
        self.cache.check_space(size - self.cache.partial_size(sha256))
        self.active[sha256] = Download(sha256, size)
        if online:
            self._ask(self.active[sha256], restart=True)
        return False

    def progress(self, sha256: str) -> int:
        """Bytes of ``sha256`` kept so far (its partial file)."""
        return self.cache.partial_size(sha256)

    def _whole_partial(self, sha256: str, size: int) -> bool:
        """A partial file with nothing left to ask for: finished if it verifies, else removed
        so the download starts again (asking from its end would ask for nothing, forever)."""
        have = self.cache.partial_size(sha256)
        if have < size:
            return False
        if have == size:
            try:
                self.cache.finish(sha256)  # the node stopped between its last piece and this
                return True
            except CacheError as exc:  # whole but wrong (a power cut's garbage): fetch again
                log.warning(
                    "partial %s… was whole but wrong (%s); fetching it again", sha256[:12], exc
                )
        else:
            log.warning("partial %s… is longer than the file; fetching it again", sha256[:12])
        self.cache.discard_partial(sha256)
        return False

    def resume_all(self) -> None:
        """After a reconnect: listen and ask again for whatever is missing. The timeout runs
        from now: the answers are on their way, and asking again at the next tick (its last
        progress is from before the link went) would only double every reconnect's requests."""
        for dl in self.active.values():
            dl.last_progress = time.monotonic()
            self._ask(dl, restart=True)

    def tick(self) -> None:
        now = time.monotonic()
        for dl in self.active.values():
            if now - dl.last_progress > self.timeout_s:
                dl.last_progress = now
                self._ask(dl, restart=True)

    def listens(self, sha256: str, offset: int) -> bool:
        """Whether the piece at ``offset`` of ``sha256`` is one this node waits for on its
        shared topic."""
        dl = self.active.get(sha256)
        return dl is not None and offset in dl.listening

    def on_chunk(self, msg: Chunk) -> str | None:
        """Store a chunk; returns the sha256 when its file is now complete and verified."""
        dl = self.active.get(msg.sha256)
        if dl is None:
            return None
        have = self.cache.partial_size(dl.sha256)
        if msg.offset != have and not (msg.offset > have and msg.offset in dl.listening):
            return None  # not asked for, or already kept: not progress
        try:
            data = base64.b64decode(msg.data, validate=True)
        except ValueError:  # binascii.Error: not base64, so damaged like a bad digest
            return None
        if hashlib.sha256(data).hexdigest() != msg.chunk_sha256:
            return None  # damaged: the timeout asks again
        if msg.total_size != dl.size:
            # Only the controller may publish pieces (the broker's ACL), so its file is not the
            # one the command names: asking again would get the same answer every timeout.
            self._drop(dl.sha256)
            raise CacheError(
                f"the controller serves {msg.total_size} bytes for this audio, "
                f"the command announced {dl.size}"
            )
        if msg.offset in dl.listening:
            dl.listening.discard(msg.offset)
            self._listen(dl.sha256, msg.offset, False)
        dl.last_progress = time.monotonic()
        if msg.offset != have:
            dl.ahead[msg.offset] = data  # held until the gap before it is filled
            return None
        size = self.cache.append(dl.sha256, msg.offset, data)
        while size in dl.ahead:
            size = self.cache.append(dl.sha256, size, dl.ahead.pop(size))
        if size < dl.size:
            self._ask(dl)
            return None
        self._drop(dl.sha256)
        if size > dl.size:
            self.cache.discard_partial(dl.sha256)
            raise CacheError(f"download of {dl.sha256[:12]}… grew past its announced size")
        self.cache.finish(dl.sha256)
        return dl.sha256

    def on_unavailable(self, msg: ChunkUnavailable) -> str | None:
        if not self._drop(msg.sha256):
            return None
        return msg.reason

    def abandon(self, sha256: str) -> None:
        """Stop asking for ``sha256`` (its partial file stays; a later ``want`` resumes it)."""
        self._drop(sha256)

    def _drop(self, sha256: str) -> bool:
        """Forget a download and stop listening to its pieces; False if none was active."""
        dl = self.active.pop(sha256, None)
        if dl is None:
            return False
        for offset in sorted(dl.listening):
            self._listen(sha256, offset, False)
        return True

    def _ask(self, dl: Download, restart: bool = False) -> None:
        have = self.cache.partial_size(dl.sha256)
        # Nothing asked covers the next byte needed: a piece shorter than this node asks for
        # (another point's, with another chunk size) ended before the next one it asked for.
        gap = have < dl.requested_up_to and have not in dl.listening
        if restart or gap or dl.requested_up_to < have:
            dl.requested_up_to = have
            dl.ahead.clear()  # asked again from the gap: what was held comes again
        limit = min(dl.size, have + WINDOW * self.chunk_size)
        while dl.requested_up_to < limit:
            length = min(self.chunk_size, dl.size - dl.requested_up_to)
            # subscribed before asking, on the same connection: the broker has the
            # subscription by the time the controller publishes the answer
            self._listen(dl.sha256, dl.requested_up_to, True)
            dl.listening.add(dl.requested_up_to)
            self._request(ChunkRequest(sha256=dl.sha256, offset=dl.requested_up_to, length=length))
            dl.requested_up_to += length
