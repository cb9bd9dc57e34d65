"""Faults at the worst moments lose nothing and double nothing (issue 18, "Faults").

test_resilience.py covers a graceful restart of each part; these kill without warning.
"""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path

from tests.support import node_events, wait_for
from tests.support.faults import downloading, played_once_by_all, post_to_all, size_of


def test_broker_restarted_five_times_mid_delivery_every_node_plays_once(
    system_factory, long_speech
):
    sut = system_factory(nodes=3)
    for node_id in sut.node_ids:
        sut.set_node_config(node_id, chunk_size=4096)  # many chunks: restarts land mid-transfer
    sut.cluster.start_all()
    bid = post_to_all(sut, long_speech, 30)
    rng = random.Random(18)  # the same "random" moments on every run
    for _ in range(5):
        time.sleep(rng.uniform(0.0, 1.5))
        sut.cluster.stop_broker()
        sut.cluster.start_broker()
    played_once_by_all(sut, bid)


def test_controller_killed_mid_delivery_every_node_plays_once(system_factory, speech_wav):
    sut = system_factory(nodes=2)
    for node_id in sut.node_ids:
        sut.set_node_config(node_id, chunk_size=4096)  # many chunks: the kill lands mid-transfer
    sut.cluster.start_all()
    bid = post_to_all(sut, speech_wav, 25)
    wait_for(
        lambda: all(node_events(sut, n, "received") for n in sut.node_ids),
        30,
        "the commands to reach the nodes",
    )
    sut.cluster.stop_controller(kill=True)  # no chance to flush or say goodbye
    sut.cluster.start_controller()
    played_once_by_all(sut, bid)


def test_a_cache_file_rotted_at_rest_is_fetched_again_and_played_once(system_factory, speech_wav):
    sut = system_factory(nodes=1)
    (node_id,) = sut.node_ids
    sut.cluster.start_all()
    bid = post_to_all(sut, speech_wav, 25)
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
    played_once_by_all(sut, bid)
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == cached.name  # fetched again


def test_a_power_cut_mid_download_resumes_from_the_torn_file_and_plays_once(
    system_factory, long_speech
):
    sut = system_factory(nodes=2)
    for node_id in sut.node_ids:
        sut.set_node_config(node_id, chunk_size=4096)  # many chunks: the cut lands mid-transfer
    cut = sut.node_ids[0]
    sut.cluster.start_all()
    bid = post_to_all(sut, long_speech, 20)
    part = downloading(sut, cut)
    sut.cluster.stop_node(cut, kill=True)
    size = size_of(part)
    assert size > 0, "the download finished before the cut: use longer audio"
    with part.open("r+b") as fh:  # the last write only half reached the card
        fh.truncate(size - min(size, 1000) // 2 - 1)
    sut.cluster.start_node(cut)
    played_once_by_all(sut, bid)
