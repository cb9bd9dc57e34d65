"""Audio chunks are read once for every point that asks: the encoded replies are cached, in
least-recently-used order, within their byte bound; and the requests that wait together are
answered once per piece, on the file's shared topic."""

from __future__ import annotations

import base64
import os
import signal
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from controller.delivery.chunks import HANDED_MAX, ChunkCache, Wants, read_chunk
from controller.delivery.dispatcher import Dispatcher
from controller.delivery.publisher import MemoryPublisher, MqttPublisher
from protocol import mqtt_client
from protocol.messages import CONTENT_ADAPTER, Chunk, ChunkRequest, ChunkUnavailable
from protocol.mqtt_client import Incoming
from protocol.topics import everything_filter, node_topic, shared_content_topic
from tests.controller.commune import Commune
from tests.controller.delivery.conftest import Live
from tests.controller.delivery.test_dispatcher import deliver
from tests.support import wait_for
from tests.support.mqtt import Recorder


def asked(node_id: str, req: ChunkRequest) -> Incoming:
    return Incoming(node_topic(node_id, "content/req"), req.model_dump_json().encode(), False, 0.0)


class CountingReads:
    """The real reader, counting what it is asked to read from disk."""

    def __init__(self) -> None:
        self.reads: list[tuple[str, int, int]] = []

    def __call__(self, path: Path, req: ChunkRequest) -> Chunk:
        self.reads.append((path.name, req.offset, req.length))
        return read_chunk(path, req)


def test_many_points_asking_for_the_same_chunks_read_each_once(
    commune: Commune, publisher: MemoryPublisher, dispatcher: Dispatcher
) -> None:
    reads = CountingReads()
    dispatcher.chunks = ChunkCache(commune.config.audio_dir, 1024 * 1024, read=reads)
    sha = commune.bulletin().audio_sha256
    whole = (commune.config.audio_dir / f"{sha}.ogg").read_bytes()
    pieces = [ChunkRequest(sha256=sha, offset=o, length=4096) for o in range(0, len(whole), 4096)]
    nodes = commune.nodes_in("thon-dong", "thon-bac", "thon-tay")
    for node_id in nodes:
        for req in pieces:
            deliver(dispatcher, node_id, "content/req", req)

    assert len(reads.reads) == len(pieces)  # once per piece, not once per point
    for p in publisher.sent[-len(pieces) :]:
        assert p.topic == shared_content_topic(sha, Chunk.model_validate_json(p.payload).offset)
        chunk = CONTENT_ADAPTER.validate_json(p.payload)
        assert isinstance(chunk, Chunk)
        assert base64.b64decode(chunk.data) == whole[chunk.offset : chunk.offset + 4096]


def test_the_cache_stays_within_its_bound_and_keeps_the_recent_pieces(tmp_path: Path) -> None:
    audio = bytes(range(256)) * 64
    sha = "a" * 64
    (tmp_path / f"{sha}.ogg").write_bytes(audio)
    reads = CountingReads()
    one_reply = len(
        ChunkCache(tmp_path, 10**6).reply(ChunkRequest(sha256=sha, offset=0, length=1000)).payload
    )
    cache = ChunkCache(tmp_path, 3 * one_reply + one_reply // 2, read=reads)
    for offset in range(0, 10_000, 1000):
        cache.reply(ChunkRequest(sha256=sha, offset=offset, length=1000))
        assert cache.size <= cache.max_bytes
    assert len(reads.reads) == 10
    cache.reply(ChunkRequest(sha256=sha, offset=9000, length=1000))  # the newest: still held
    assert len(reads.reads) == 10
    cache.reply(ChunkRequest(sha256=sha, offset=0, length=1000))  # the oldest: gone, read again
    assert len(reads.reads) == 11


def test_missing_audio_is_not_cached_and_an_oversized_piece_is_not_kept(tmp_path: Path) -> None:
    sha = "b" * 64
    reads = CountingReads()
    cache = ChunkCache(tmp_path, 100, read=reads)
    req = ChunkRequest(sha256=sha, offset=0, length=1000)
    assert isinstance(CONTENT_ADAPTER.validate_json(cache.reply(req).payload), ChunkUnavailable)
    (tmp_path / f"{sha}.ogg").write_bytes(b"x" * 1000)  # stored a moment later
    assert isinstance(CONTENT_ADAPTER.validate_json(cache.reply(req).payload), Chunk)
    cache.reply(req)
    assert (len(reads.reads), cache.size) == (3, 0)  # larger than the bound: never held


def test_requests_that_wait_together_are_answered_once_per_piece_for_all(
    commune: Commune, publisher: MemoryPublisher, dispatcher: Dispatcher
) -> None:
    sha = commune.bulletin().audio_sha256
    nodes = commune.nodes_in("thon-dong", "thon-bac", "thon-tay")
    first, second = (ChunkRequest(sha256=sha, offset=o, length=100) for o in (0, 100))
    # what a busy worker finds in its inbox: every point asking for the same two pieces
    dispatcher.handle_batch([asked(n, req) for req in (first, second) for n in nodes])

    assert [p.topic for p in publisher.sent] == [shared_content_topic(sha, o) for o in (0, 100)]
    pieces = [Chunk.model_validate_json(p.payload) for p in publisher.sent]
    assert [(c.sha256, c.offset) for c in pieces] == [(sha, 0), (sha, 100)]
    assert all(p.expiry_s == 60 for p in publisher.sent)

    # a request after the piece went out is answered again: its node may have subscribed later
    dispatcher.handle_batch([asked(nodes[0], first)])
    assert len(publisher.sent) == 3


def test_a_refusal_goes_to_its_askers_only_never_to_the_shared_topic(
    commune: Commune, publisher: MemoryPublisher, dispatcher: Dispatcher
) -> None:
    sha = commune.bulletin().audio_sha256
    size = (commune.config.audio_dir / f"{sha}.ogg").stat().st_size
    odd, fair, other = commune.nodes_in("thon-dong")[:2] + commune.nodes_in("thon-bac")[:1]
    past_end = ChunkRequest(sha256=sha, offset=size + 10, length=100)
    missing = ChunkRequest(sha256="0" * 64, offset=0, length=100)
    dispatcher.handle_batch(
        [
            asked(odd, past_end),
            asked(fair, ChunkRequest(sha256=sha, offset=0, length=100)),
            asked(odd, missing),
            asked(other, missing),
        ]
    )
    by_topic = {p.topic: CONTENT_ADAPTER.validate_json(p.payload) for p in publisher.sent}
    assert set(by_topic) == {
        node_topic(odd, "content"),  # its own refusals, past the end and missing
        shared_content_topic(sha, 0),  # the fair piece, for everyone waiting for it
        node_topic(other, "content"),
    }
    assert isinstance(by_topic[shared_content_topic(sha, 0)], Chunk)
    refusals = [p for p in publisher.sent if p.topic == node_topic(odd, "content")]
    assert len(refusals) == 2
    assert all(
        isinstance(CONTENT_ADAPTER.validate_json(p.payload), ChunkUnavailable) for p in refusals
    )


def test_a_piece_published_again_and_again_is_held_once_in_pahos_queue(tmp_path: Path) -> None:
    """While a thousand points fetch a bulletin, each batch publishes the pieces its askers
    wait for, and paho holds every publish until the broker acknowledges it: one object per
    piece, not an encoded copy per publish (a 64 KiB piece is 87 KB of JSON)."""
    audio = tmp_path / f"{'a' * 64}.ogg"
    audio.write_bytes(bytes(range(256)) * 256)  # 64 KiB
    cache = ChunkCache(tmp_path, 1 << 20)
    client = mqtt_client.Client("")
    client.max_queued_messages_set(0)  # not connected: every publish waits in paho's queue
    publisher = MqttPublisher(client)
    req = ChunkRequest(sha256="a" * 64, offset=0, length=65536)
    wants = Wants()
    wants.add("loa-1", req)
    wants.serve(cache, publisher)  # the piece read, encoded and cached once

    tracemalloc.start()
    try:
        for batch in range(50):
            wants.add(f"loa-{batch}", req)
            assert wants.serve(cache, publisher) == 1
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(client._out_messages) == 51  # what paho holds is the point
    assert held < 1e6, f"{held / 1e6:.1f} MB for 50 publishes of one piece"


def test_pieces_wait_with_the_controller_while_the_broker_lags_and_go_once_however_often_asked(
    live: Live,
) -> None:
    """With the broker not acknowledging (stopped), pieces are handed to paho up to
    ``HANDED_MAX``; the rest wait in ``Wants``, where the same pieces asked for again and again
    (points re-asking their window after a timeout) join them instead of piling up as copies
    in paho's queue. Once the broker answers, what waited goes out, each piece once more."""
    commune, dispatcher = live.commune, live.dispatcher
    observer = Recorder(live.port, *live.observer, subscribe=everything_filter())
    sha = commune.bulletin().audio_sha256
    length = (commune.config.audio_dir / f"{sha}.ogg").stat().st_size // (HANDED_MAX + 8)
    pieces = [
        ChunkRequest(sha256=sha, offset=length * k, length=length) for k in range(HANDED_MAX + 8)
    ]
    askers = commune.nodes_in("thon-dong")[:3]
    assert live.cluster.broker_proc is not None
    broker_pid = live.cluster.broker_proc.pid
    os.kill(broker_pid, signal.SIGSTOP)
    try:
        for node_id in askers:  # the first asks; the others ask for the same pieces again
            for req in pieces:
                dispatcher.inbox.put(asked(node_id, req))
            wait_for(dispatcher.inbox.empty, 5, "the worker took the requests")
        wait_for(lambda: len(dispatcher.wants.asked) == len(pieces), 5, "the pieces waiting")
        # handed out before the re-asks; each is asked for again, since a re-asker may have
        # subscribed after it left
        assert dispatcher.publisher.unacknowledged() == HANDED_MAX
    finally:
        os.kill(broker_pid, signal.SIGCONT)
    expected = HANDED_MAX + len(pieces)  # the first 32 twice, the other 8 once
    wait_for(lambda: len(content(observer)) >= expected, 10, f"{expected} pieces published")
    time.sleep(0.3)  # anything beyond would arrive meanwhile
    sent = Counter(content(observer))
    observer.close()
    assert sum(sent.values()) == expected  # not 3 × 40: one per piece per ask
    assert all(sent[shared_content_topic(sha, r.offset)] >= 1 for r in pieces)
    assert max(sent.values()) == 2
    assert not dispatcher.wants.asked


def content(observer: Recorder) -> list[str]:
    """The shared pieces the observer has seen, by topic."""
    return [t for t in observer.topics() if "/content/" in t and "/node/" not in t]
