"""Faults at the worst moments lose nothing and double nothing (issue 18, "Faults").

test_resilience.py covers a graceful restart of each part; these kill without warning.
"""

from __future__ import annotations

import hashlib
import random
import time
from datetime import datetime, timedelta
from pathlib import Path

from schedules import LOCAL
from tests.support import SystemUnderTest, node_events, wait_for


def _post(sut: SystemUnderTest, audio: Path, lead_s: float) -> str:
    play_at = datetime.now(LOCAL) + timedelta(seconds=lead_s)
    resp = sut.post_bulletin(audio, all="true", play_at=play_at.replace(tzinfo=None).isoformat())
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # finished and renamed into the cache meanwhile
        return 0


def _played_once_by_all(sut: SystemUnderTest, bid: str) -> None:
    count = len(sut.node_ids)
    wait_for(
        lambda: sut.report(bid)["summary"]["completed"] == count,
        90,
        f"all {count} nodes to play",
    )
    for node_id in sut.node_ids:
        assert len(node_events(sut, node_id, "started")) == 1, node_id


def test_broker_restarted_five_times_mid_delivery_every_node_plays_once(
    system_factory, long_speech
):
    sut = system_factory(nodes=3)
    for node_id in sut.node_ids:
        sut.set_node_config(node_id, chunk_size=4096)  # many chunks: restarts land mid-transfer
    sut.cluster.start_all()
    bid = _post(sut, long_speech, 30)
    rng = random.Random(18)  # the same "random" moments on every run
    for _ in range(5):
        time.sleep(rng.uniform(0.0, 1.5))
        sut.cluster.stop_broker()
        sut.cluster.start_broker()
    _played_once_by_all(sut, bid)


def test_controller_killed_mid_delivery_every_node_plays_once(system_factory, speech_wav):
    sut = system_factory(nodes=2)
    for node_id in sut.node_ids:
        sut.set_node_config(node_id, chunk_size=4096)  # many chunks: the kill lands mid-transfer
    sut.cluster.start_all()
    bid = _post(sut, speech_wav, 25)
    wait_for(
        lambda: all(node_events(sut, n, "received") for n in sut.node_ids),
        30,
        "the commands to reach the nodes",
    )
    sut.cluster.stop_controller(kill=True)  # no chance to flush or say goodbye
    sut.cluster.start_controller()
    _played_once_by_all(sut, bid)


def test_a_cache_file_rotted_at_rest_is_fetched_again_and_played_once(system_factory, speech_wav):
    sut = system_factory(nodes=1)
    (node_id,) = sut.node_ids
    sut.cluster.start_all()
    bid = _post(sut, speech_wav, 25)
    wait_for(lambda: sut.report(bid)["nodes"][0]["status"] == "ready", 30, "the audio to be cached")
    sut.cluster.stop_node(node_id, kill=True)
    cache = Path(sut.node_config(node_id)["data_dir"]) / "cache"
    (cached,) = (p for p in cache.glob("??/*") if p.is_file())
    data = bytearray(cached.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(
        b ^ 0xFF for b in data[len(data) // 2 : len(data) // 2 + 64]
    )
    cached.write_bytes(bytes(data))
    sut.cluster.start_node(node_id)
    _played_once_by_all(sut, bid)
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == cached.name  # fetched again


def test_a_power_cut_mid_download_resumes_from_the_torn_file_and_plays_once(
    system_factory, long_speech
):
    sut = system_factory(nodes=2)
    for node_id in sut.node_ids:
        sut.set_node_config(node_id, chunk_size=4096)  # many chunks: the cut lands mid-transfer
    cut = sut.node_ids[0]
    partial = Path(sut.node_config(cut)["data_dir"]) / "cache" / "partial"
    sut.cluster.start_all()
    bid = _post(sut, long_speech, 20)
    part = wait_for(
        lambda: next((p for p in partial.glob("*.part") if _size(p) > 0), None),
        30,
        "the download to begin",
        interval=0.005,
    )
    sut.cluster.stop_node(cut, kill=True)
    size = _size(part)
    assert size > 0, "the download finished before the cut: use longer audio"
    with part.open("r+b") as fh:  # the last write only half reached the card
        fh.truncate(size - min(size, 1000) // 2 - 1)
    sut.cluster.start_node(cut)
    _played_once_by_all(sut, bid)
