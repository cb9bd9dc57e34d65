"""A node's files under fault (issue 18, "Faults"): audio that rots between preparing a play and
airing it, and a cache disk that fills mid-download. Nothing damaged or half-written is aired;
each is fetched again or reported with its reason."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.support import node_events, wait_for
from tests.support.faults import (
    downloading,
    fill,
    played_once_by_all,
    post_to_all,
    small_disk,
)


def test_audio_rotted_after_it_was_ready_is_fetched_again_before_it_airs(
    system_factory, speech_wav
):
    sut = system_factory(nodes=1)
    (node_id,) = sut.node_ids
    sut.cluster.start_all()
    bid = post_to_all(sut, speech_wav, 8)
    wait_for(lambda: sut.report(bid)["nodes"][0]["status"] == "ready", 30, "the audio cached")
    cache = Path(sut.node_config(node_id)["data_dir"]) / "cache"
    (cached,) = (p for p in cache.glob("??/*") if p.is_file())
    data = bytearray(cached.read_bytes())  # the node runs on: its check at play time finds it
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    cached.write_bytes(bytes(data))

    played_once_by_all(sut, bid)
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == cached.name  # fetched again


def test_a_cache_disk_filling_mid_download_fails_cleanly_and_recovers(
    system_factory, long_speech, speech_wav
):
    sut = system_factory(nodes=1)
    (node_id,) = sut.node_ids
    sut.set_node_config(node_id, chunk_size=4096, min_free_bytes=0)  # the disk itself fills
    cache = Path(sut.node_config(node_id)["data_dir"]) / "cache"
    with small_disk(cache, "1m"):
        sut.cluster.start_all()
        first = post_to_all(sut, long_speech, 20)
        downloading(sut, node_id)
        filler = fill(cache)
        report = wait_for(
            lambda: (r := sut.report(first))["summary"]["not_played"] == 1 and r,
            30,
            "the download to fail",
        )
        (node,) = report["nodes"]
        assert node["status"] == "failed"
        assert node["reason"] == "disk full: no space left to write the audio cache", (
            "the download finished before the disk filled: use longer audio"
        )
        assert not [p for p in cache.glob("??/*") if p.is_file()]  # nothing half-made to play
        assert node_events(sut, node_id, "started") == []

        filler.unlink()  # space returns
        second = post_to_all(sut, speech_wav, 6)
        wait_for(lambda: sut.report(second)["summary"]["completed"] == 1, 40, "the next to air")
        sut.cluster.stop_all()  # before the disk goes


def test_the_controllers_disk_full_during_an_upload_is_a_clear_507_and_leaves_nothing(
    system_factory, long_speech, speech_wav
):
    sut = system_factory(nodes=1)
    scratch = sut.cluster.config.data_dir / "tmp"  # where uploads are saved and encoded
    with small_disk(scratch, "16k"):
        sut.cluster.start_broker()
        sut.cluster.start_controller()
        resp = sut.post_bulletin(long_speech, all="true")  # 600 kB of WAV: it cannot fit
        assert resp.status_code == 507, resp.text
        assert resp.json()["code"] == "storage.full"
        assert "disk is full" in resp.json()["detail"]
        assert list(scratch.iterdir()) == []  # no half-saved upload
        with sut.http() as c:
            assert c.get("/api/v1/bulletins").json() == []  # no bulletin half-made
        assert not list(sut.cluster.config.audio_dir.glob("*.ogg"))
        sut.cluster.stop_controller()  # before the small disk goes
    sut.cluster.start_controller()  # space is back
    assert sut.post_bulletin(speech_wav, all="true").status_code == 201
