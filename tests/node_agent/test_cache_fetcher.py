"""The node's cache never exposes a partial file, and downloads resume where they stopped."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest

from node_agent.agent import NodeAgent
from node_agent.cache import AudioCache, CacheError
from node_agent.fetcher import WINDOW, Fetcher
from protocol.messages import Chunk, ChunkRequest
from protocol.topics import shared_content_topic
from tests.support.offline_node import offline_agent

CHUNK = 4096


def blob(n: int = 10 * CHUNK + 123) -> tuple[bytes, str]:
    data = os.urandom(n)
    return data, hashlib.sha256(data).hexdigest()


def chunk(data: bytes, sha: str, offset: int, *, corrupt: bool = False) -> Chunk:
    part = data[offset : offset + CHUNK]
    digest = hashlib.sha256(part).hexdigest()
    if corrupt:
        part = bytes([part[0] ^ 0xFF]) + part[1:]
    return Chunk(
        sha256=sha,
        offset=offset,
        total_size=len(data),
        chunk_sha256=digest,
        data=base64.b64encode(part).decode(),
    )


def make(tmp_path, **kw) -> tuple[Fetcher, list[ChunkRequest]]:
    asked: list[ChunkRequest] = []
    cache = AudioCache(tmp_path / "cache", kw.pop("min_free_bytes", 0))
    return Fetcher(cache, asked.append, CHUNK, timeout_s=0.0), asked


def serve(fetcher: Fetcher, asked: list[ChunkRequest], data: bytes, sha: str, limit: int = 10**6):
    done = None
    served = 0
    while asked and served < limit:
        req = asked.pop(0)
        done = fetcher.on_chunk(chunk(data, sha, req.offset)) or done
        served += 1
    return done


def test_download_completes_verified_and_only_then_appears(tmp_path):
    data, sha = blob()
    fetcher, asked = make(tmp_path)
    fetcher.want(sha, len(data), online=True)
    assert len(asked) == WINDOW  # a small window, not the whole file at once
    assert serve(fetcher, asked, data, sha, limit=5) is None
    assert not fetcher.cache.has(sha)  # partial: invisible to the player
    assert serve(fetcher, asked, data, sha) == sha
    assert fetcher.cache.path(sha).read_bytes() == data


def test_download_resumes_from_the_partial_file_after_a_restart(tmp_path):
    data, sha = blob()
    fetcher, asked = make(tmp_path)
    fetcher.want(sha, len(data), online=True)
    serve(fetcher, asked, data, sha, limit=3)
    have = fetcher.cache.partial_size(sha)
    assert have == 3 * CHUNK

    restarted, asked2 = make(tmp_path)  # a new agent process over the same cache
    restarted.want(sha, len(data), online=True)
    assert asked2[0].offset == have
    assert serve(restarted, asked2, data, sha) == sha
    assert restarted.cache.path(sha).read_bytes() == data


def test_a_damaged_chunk_is_dropped_and_asked_for_again(tmp_path):
    data, sha = blob()
    fetcher, asked = make(tmp_path)
    fetcher.want(sha, len(data), online=True)
    first = asked.pop(0)
    assert fetcher.on_chunk(chunk(data, sha, first.offset, corrupt=True)) is None
    assert fetcher.cache.partial_size(sha) == 0
    asked.clear()
    fetcher.tick()  # timeout (0 s here) re-asks from the last good offset
    assert asked[0].offset == 0
    assert serve(fetcher, asked, data, sha) == sha


def test_whole_file_mismatch_is_discarded(tmp_path):
    data, _ = blob()
    wrong_sha = hashlib.sha256(b"something else").hexdigest()
    fetcher, asked = make(tmp_path)
    fetcher.want(wrong_sha, len(data), online=True)
    with pytest.raises(CacheError, match="does not match"):
        serve(fetcher, asked, data, wrong_sha)
    assert not fetcher.cache.has(wrong_sha)
    assert fetcher.cache.partial_size(wrong_sha) == 0


def test_no_room_is_a_clear_error_before_anything_is_written(tmp_path):
    data, sha = blob()
    fetcher, asked = make(tmp_path, min_free_bytes=10**18)
    with pytest.raises(CacheError, match="disk full"):
        fetcher.want(sha, len(data), online=True)
    assert asked == []


def test_an_abandoned_download_is_not_asked_for_until_wanted_again(tmp_path):
    data, sha = blob()
    fetcher, asked = make(tmp_path)
    fetcher.want(sha, len(data), online=True)
    serve(fetcher, asked, data, sha, limit=2)
    fetcher.abandon(sha)
    asked.clear()
    fetcher.tick()
    fetcher.resume_all()
    assert asked == []
    assert fetcher.on_chunk(chunk(data, sha, 2 * CHUNK)) is None  # a late chunk is ignored
    fetcher.want(sha, len(data), online=True)
    assert asked[0].offset == 2 * CHUNK  # resumes where the partial file ends
    assert serve(fetcher, asked, data, sha) == sha


def test_a_cached_file_that_rotted_is_removed_and_fetched_again(tmp_path):
    data, sha = blob()
    fetcher, asked = make(tmp_path)
    fetcher.want(sha, len(data), online=True)
    serve(fetcher, asked, data, sha)
    path = fetcher.cache.path(sha)
    path.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])  # one flipped byte
    assert not fetcher.cache.has(sha)
    assert not path.exists()
    fetcher.want(sha, len(data), online=True)
    assert serve(fetcher, asked, data, sha) == sha
    assert path.read_bytes() == data


def make_listening(tmp_path, timeout_s: float = 60.0):
    """A fetcher whose subscriptions and requests land in one log, in the order made."""
    log: list[tuple[str, object]] = []
    cache = AudioCache(tmp_path / "cache", 0)
    fetcher = Fetcher(
        cache,
        lambda req: log.append(("ask", req.offset)),
        CHUNK,
        timeout_s=timeout_s,
        listen=lambda _sha, offset, on: log.append(("listen" if on else "leave", offset)),
    )
    return fetcher, log


def test_each_piece_is_listened_to_before_it_is_asked_for_and_left_once_kept(tmp_path):
    data, sha = blob(3 * CHUNK)
    fetcher, log = make_listening(tmp_path)
    fetcher.want(sha, len(data), online=True)
    # subscribed before the controller can answer, to the pieces asked for only
    assert log == [
        ("listen", 0),
        ("ask", 0),
        ("listen", CHUNK),
        ("ask", CHUNK),
        ("listen", 2 * CHUNK),
        ("ask", 2 * CHUNK),
    ]
    log.clear()
    for offset in (0, CHUNK, 2 * CHUNK):
        done = fetcher.on_chunk(chunk(data, sha, offset))
    assert done == sha
    assert log == [("leave", 0), ("leave", CHUNK), ("leave", 2 * CHUNK)]
    assert fetcher.cache.path(sha).read_bytes() == data  # verified whole, as before


def test_a_download_given_up_leaves_its_shared_chunks(tmp_path):
    data, sha = blob()
    fetcher, log = make_listening(tmp_path)
    fetcher.want(sha, len(data), online=True)
    log.clear()
    fetcher.abandon(sha)
    assert log == [("leave", k * CHUNK) for k in range(WINDOW)]
    log.clear()
    fetcher.want(sha, len(data), online=False)  # offline: no subscription until it is back
    assert log == []
    fetcher.resume_all()
    assert log[:2] == [("listen", 0), ("ask", 0)]


def test_pieces_other_points_asked_for_are_skipped_and_are_not_progress(tmp_path):
    data, sha = blob()
    fetcher, log = make_listening(tmp_path)
    fetcher.want(sha, len(data), online=True)
    fetcher.active[sha].last_progress = 0.0  # as if the timeout has long passed
    # a piece further on (another point's) and a foreign one with a bad digest
    assert fetcher.on_chunk(chunk(data, sha, 8 * CHUNK)) is None
    assert fetcher.on_chunk(chunk(data, sha, 0, corrupt=True)) is None
    assert fetcher.cache.partial_size(sha) == 0
    log.clear()
    fetcher.tick()  # nothing it kept: its own requests are asked again
    assert log[:2] == [("listen", 0), ("ask", 0)]


def test_a_piece_asked_for_that_comes_ahead_of_its_turn_is_held_not_asked_again(tmp_path):
    """Pieces gathered from many points' requests may come in another order than this node
    asked: the one past the gap is verified and held, and written once the gap is filled."""
    data, sha = blob(4 * CHUNK)
    fetcher, log = make_listening(tmp_path)
    fetcher.want(sha, len(data), online=True)
    log.clear()
    assert fetcher.on_chunk(chunk(data, sha, 2 * CHUNK)) is None
    assert fetcher.on_chunk(chunk(data, sha, CHUNK)) is None
    assert fetcher.cache.partial_size(sha) == 0  # nothing written past the gap
    assert fetcher.on_chunk(chunk(data, sha, 0)) is None
    assert fetcher.cache.partial_size(sha) == 3 * CHUNK  # the gap filled: all three written
    assert fetcher.on_chunk(chunk(data, sha, 3 * CHUNK)) == sha
    assert fetcher.cache.path(sha).read_bytes() == data
    assert not [e for e in log if e[0] == "ask"]  # nothing had to be asked for again
    assert sorted(o for kind, o in log if kind == "leave") == [0, CHUNK, 2 * CHUNK, 3 * CHUNK]


# --- downloads that could wait forever (issue 18: three points never got their audio) -----------


def test_a_partial_file_already_whole_is_finished_not_asked_for_from_its_end(tmp_path):
    """The node stopped between its last piece and the check: nothing is left to ask for, so
    asking from the file's end would ask for nothing, every timeout, forever."""
    data, sha = blob()
    fetcher, asked = make(tmp_path)
    (fetcher.cache.partial_dir / f"{sha}.part").write_bytes(data)
    assert fetcher.want(sha, len(data), online=True) is True
    assert asked == []
    assert sha not in fetcher.active
    assert fetcher.cache.path(sha).read_bytes() == data


@pytest.mark.parametrize("damage", ["longer", "whole but wrong"])
def test_a_partial_file_with_nothing_left_to_ask_that_is_wrong_is_fetched_again(tmp_path, damage):
    data, sha = blob()
    fetcher, asked = make(tmp_path)
    part = data + b"\0" * 100 if damage == "longer" else b"\0" * len(data)  # a power cut's
    (fetcher.cache.partial_dir / f"{sha}.part").write_bytes(part)
    assert fetcher.want(sha, len(data), online=True) is False
    assert asked[0].offset == 0  # from the start, not from past the end
    assert serve(fetcher, asked, data, sha) == sha
    assert fetcher.cache.path(sha).read_bytes() == data


def test_audio_served_at_another_size_than_announced_fails_with_the_reason(tmp_path):
    """Its pieces verify one by one but the file never can: asking again would get the same
    answer every timeout, so the download stops and says why."""
    data, sha = blob()
    fetcher, asked = make(tmp_path)
    fetcher.want(sha, len(data) + 1, online=True)  # the command says one byte more
    with pytest.raises(CacheError, match=f"serves {len(data)} bytes.*announced {len(data) + 1}"):
        fetcher.on_chunk(chunk(data, sha, asked[0].offset))
    assert sha not in fetcher.active
    asked.clear()
    fetcher.tick()
    assert asked == []


def test_a_shorter_piece_than_asked_for_has_its_gap_asked_for_at_once(tmp_path):
    """Another point with a smaller chunk size asked for the same offset: its shorter piece
    comes on the shared topic this node reads and is kept; the rest of what this node asked
    for starts past a gap that nothing asked for, so it is asked for now, not at the timeout."""
    data, sha = blob()
    fetcher, asked = make(tmp_path)
    fetcher.timeout_s = 3600.0  # no timeout to the rescue
    fetcher.want(sha, len(data), online=True)
    asked.clear()
    half = data[: CHUNK // 2]
    short = Chunk(
        sha256=sha,
        offset=0,
        total_size=len(data),
        chunk_sha256=hashlib.sha256(half).hexdigest(),
        data=base64.b64encode(half).decode(),
    )
    assert fetcher.on_chunk(short) is None
    assert fetcher.cache.partial_size(sha) == CHUNK // 2
    assert [r.offset for r in asked][:1] == [CHUNK // 2]  # the gap, asked for at once
    done = None
    while asked:
        req = asked.pop(0)
        part = data[req.offset : req.offset + req.length]
        done = (
            fetcher.on_chunk(
                Chunk(
                    sha256=sha,
                    offset=req.offset,
                    total_size=len(data),
                    chunk_sha256=hashlib.sha256(part).hexdigest(),
                    data=base64.b64encode(part).decode(),
                )
            )
            or done
        )
    assert done == sha


def test_a_file_that_cannot_be_moved_into_place_is_a_cache_error(tmp_path):
    """Anything but a CacheError left the plays waiting for that audio unreported."""
    data, sha = blob()
    fetcher, asked = make(tmp_path)
    (fetcher.cache.root / sha[:2]).write_bytes(b"")  # a file where its directory must go
    fetcher.want(sha, len(data), online=True)
    with pytest.raises(CacheError, match="cannot move the audio into the cache"):
        serve(fetcher, asked, data, sha)


def test_a_reconnect_asks_once_not_again_at_the_next_tick(tmp_path):
    data, sha = blob()
    fetcher, log = make_listening(tmp_path, timeout_s=10.0)
    fetcher.want(sha, len(data), online=True)
    fetcher.active[sha].last_progress = 0.0  # the link was down for long
    log.clear()
    fetcher.resume_all()
    assert [o for kind, o in log if kind == "ask"] == [k * CHUNK for k in range(WINDOW)]
    log.clear()
    fetcher.tick()  # a second later: the answers to the re-ask are on their way
    assert log == []


def test_a_shared_piece_the_node_does_not_wait_for_is_dropped_unread(tmp_path):
    """A piece published again for a point that asked later reaches this node too until its
    unsubscribe is through: it is dropped by its topic, before 87 KB of JSON are parsed. What
    it waits for is read as before (here: junk it waits for is reported, junk it does not
    wait for is not even looked at)."""
    agent = offline_agent(tmp_path, "node-a")
    data, sha = blob(3 * CHUNK)
    agent.fetcher.want(sha, len(data), online=True)
    agent.bulletins.on_content(
        shared_content_topic(sha, 0), chunk(data, sha, 0).model_dump_json().encode()
    )
    assert agent.fetcher.cache.partial_size(sha) == CHUNK
    assert not agent.fetcher.listens(sha, 0)
    assert agent.fetcher.listens(sha, CHUNK)

    for topic in (
        shared_content_topic(sha, 0),  # kept already
        shared_content_topic(sha, 5 * CHUNK),  # never asked for
        shared_content_topic("f" * 64, 0),  # another file
    ):
        agent.bulletins.on_content(topic, b"{not json")
    assert rejections(agent) == []
    agent.bulletins.on_content(shared_content_topic(sha, CHUNK), b"{not json")
    assert len(rejections(agent)) == 1  # what it waits for is read, and junk there reported
    assert agent.fetcher.cache.partial_size(sha) == CHUNK


def rejections(agent: NodeAgent) -> list[dict[str, object]]:
    events = [json.loads(p) for _, p, _ in agent.store.due_outbox(float("inf"), limit=10**6)]
    return [e for e in events if e["type"] == "rejected"]
