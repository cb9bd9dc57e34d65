"""Audio chunks: a node pulls a bulletin's audio piece by piece and checks each piece and the
whole file by sha256, so nothing but the broker connection is needed to get it.

Every point fetching a bulletin asks for the same pieces, so the encoded replies are kept in a
small LRU cache bounded in bytes (``chunk_cache_bytes``): a thousand points cost one read, one
hash and one base64 encoding per piece, not a thousand. The cache holds each reply as bytes, and
every publish of a piece hands paho that one object: paho keeps a publish until the broker
acknowledges it, and a string it would encode into a copy of its own each time (at 1,000 points
some 160 copies of 87 KB were waiting at once). Audio files are named by their sha256
and never change, so a cached piece cannot go stale.

And a piece is published once for all of them: on the piece's shared topic
(``shared_content_topic``: the file and the offset), which every point waiting for that piece
reads. The requests the
dispatcher takes in one batch (what waited while it was busy: many when many points ask) are
gathered by piece (``Wants``) and each piece goes out once. A point subscribes before it asks,
on the same connection, so the broker has its subscription by the time its request reaches
the controller: any request answered by a publish is one whose asker receives it. A refusal
(no such file, an offset past its end) goes to each asker on its own topic only: one node's
odd request must not make every other point give up the file.

A piece waits with the controller, not in paho's queue: pieces are handed to paho only while
fewer than ``HANDED_MAX`` messages of any kind await the broker's acknowledgement, and the
rest wait in ``Wants``, where a later request for a piece already waiting joins it. Handed to
paho at once, every batch's pieces queued behind the batches before them: under load the queue
grew with copies of the same pieces faster than the link sent it, a piece took longer than a
node's 10 s timeout to leave, the node asked for its window again, and that added more copies
(at 1,000 points on a loaded machine the bulletin stalled with every file partial). Now a
request waits at most behind the distinct pieces asked before it, a node asking again costs
nothing while its piece waits, and a command never waits behind more than ``HANDED_MAX``
messages. A piece that waits here has not reached the broker, so it reaches everyone who asked
for it while it waited: they had subscribed before asking.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from controller.delivery.publisher import Publisher
from protocol.messages import Chunk, ChunkRequest, ChunkUnavailable
from protocol.topics import node_topic, shared_content_topic

log = logging.getLogger(__name__)

REPLY_EXPIRY_S = 60  # a node that asked and went away asks again; the broker drops the rest
# Messages awaiting the broker's acknowledgement beyond which no piece is handed to paho: well
# within the broker's Receive Maximum (100), so what is handed is sent at once.
HANDED_MAX = 32
# Distinct pieces and refusals that may wait; beyond it a request is dropped and its node asks
# again after its timeout. Far above what honest points ask at once (a few files times four
# pieces); a stolen node asking for every offset of every file is held to it.
WAITING_MAX = 4096

ChunkReader = Callable[[Path, ChunkRequest], Chunk]
_Key = tuple[str, int, int]  # sha256, offset, length as asked


class Reply(NamedTuple):
    payload: bytes  # the JSON to publish: the cached object itself, shared by its publishes
    served: bool  # a piece of the file (for everyone), not a refusal (for the asker only)


class OffsetError(ValueError):
    """A request that starts past the end of the file (a node never asks for one)."""


def read_chunk(path: Path, req: ChunkRequest) -> Chunk:
    with path.open("rb") as fh:
        total = fh.seek(0, 2)
        # checked before seeking: an offset past what a file offset can hold raises there
        if req.offset >= total:
            raise OffsetError(f"offset past the end of the audio ({total} bytes)")
        fh.seek(req.offset)
        data = fh.read(req.length)
    return Chunk(
        sha256=req.sha256,
        offset=req.offset,
        total_size=total,
        chunk_sha256=hashlib.sha256(data).hexdigest(),
        data=base64.b64encode(data).decode(),
    )


def _unavailable(req: ChunkRequest) -> ChunkUnavailable:
    return ChunkUnavailable(sha256=req.sha256, reason="no such audio or release on the controller")


class ChunkCache:
    """Encoded chunk replies, least recently used first out, at most ``max_bytes`` of them
    (0 turns the cache off). Used by the dispatcher's one worker thread only."""

    def __init__(
        self,
        audio_dir: Path,
        max_bytes: int,
        read: ChunkReader = read_chunk,
        release_dir: Path | None = None,
    ) -> None:
        """``read`` is the seam that touches the file (tests count its calls); a release's
        wheel (``release_dir/<sha256>.whl``) is served as audio is."""
        self.audio_dir, self.max_bytes, self._read = audio_dir, max_bytes, read
        self.release_dir = release_dir
        self._replies: OrderedDict[_Key, bytes] = OrderedDict()
        self.size = 0  # bytes of the replies held

    def reply(self, req: ChunkRequest) -> Reply:
        """The reply to ``req``: the piece, or why there is none (never cached, since the
        audio may be stored a moment later)."""
        key = (req.sha256, req.offset, req.length)
        cached = self._replies.get(key)
        if cached is not None:
            self._replies.move_to_end(key)
            return Reply(cached, served=True)
        try:
            payload = self._read(self._locate(req.sha256), req).model_dump_json().encode()
        except FileNotFoundError:
            return Reply(_unavailable(req).model_dump_json().encode(), served=False)
        except OffsetError as exc:
            refusal = ChunkUnavailable(sha256=req.sha256, reason=str(exc))
            return Reply(refusal.model_dump_json().encode(), served=False)
        self._keep(key, payload)
        return Reply(payload, served=True)

    def _locate(self, sha256: str) -> Path:
        audio = self.audio_dir / f"{sha256}.ogg"
        if self.release_dir is None or audio.exists():
            return audio
        return self.release_dir / f"{sha256}.whl"

    def _keep(self, key: _Key, payload: bytes) -> None:
        if len(payload) > self.max_bytes:
            return  # a piece larger than the whole cache would only empty it
        self._replies[key] = payload
        self.size += len(payload)
        while self.size > self.max_bytes:
            _, oldest = self._replies.popitem(last=False)
            self.size -= len(oldest)


@dataclass
class Wants:
    """Chunk requests gathered by piece, oldest first: who waits for what not yet handed to
    paho."""

    asked: dict[_Key, tuple[ChunkRequest, set[str]]] = field(default_factory=dict)

    def add(self, node_id: str, req: ChunkRequest) -> None:
        key = (req.sha256, req.offset, req.length)
        waiting = self.asked.get(key)
        if waiting is not None:
            waiting[1].add(node_id)
        elif len(self.asked) < WAITING_MAX:
            self.asked[key] = (req, {node_id})
        else:
            log.warning("%d chunk requests waiting; %s asks again later", WAITING_MAX, node_id)

    def serve(
        self, cache: ChunkCache, publisher: Publisher, wake: Callable[[], None] | None = None
    ) -> int:
        """Publish the waiting pieces, oldest first, each once on its file's shared topic, and
        each refusal to its askers, while the publisher's backlog leaves room; returns the
        messages published. ``wake`` is called once the broker acknowledges something, when
        pieces are left waiting for room. A message the publisher refuses is dropped: its
        nodes ask again after their timeout."""
        published = 0
        while self.asked and publisher.unacknowledged() < HANDED_MAX:
            key = next(iter(self.asked))
            req, nodes = self.asked.pop(key)
            reply = cache.reply(req)
            topics = (
                [shared_content_topic(req.sha256, req.offset)]
                if reply.served
                else [node_topic(n, "content") for n in sorted(nodes)]
            )
            for topic in topics:
                if publisher.publish(topic, reply.payload, expiry_s=REPLY_EXPIRY_S):
                    published += 1
                else:
                    log.warning("chunk reply on %s not taken; its nodes will ask again", topic)
        if self.asked and wake is not None:
            publisher.call_on_ack(wake)
        return published
