"""A recording posted over HTTP is played by every node and reported back (real processes)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from audio.decode import decode_file
from tests.support import SystemUnderTest, wait_for
from tests.support.audio import read_wav


def played_files(sut: SystemUnderTest, node_id: str, bulletin_id: str) -> Path | None:
    path = sut.played_dir(node_id) / f"{bulletin_id}.wav"
    return path if path.exists() else None


def assert_same_audio(played: Path, reference: np.ndarray, rate: int) -> None:
    got, got_rate = read_wav(played)
    assert got_rate == rate
    assert abs(len(got) - len(reference)) <= rate // 100, (len(got), len(reference))
    n = min(len(got), len(reference))
    err = got[:n] - reference[:n]
    # int16 quantisation only: the node played exactly the controller's processed audio
    assert float(np.max(np.abs(err))) < 2e-4
    assert float(np.sqrt(np.mean(reference[:n] ** 2))) > 0.01  # and it was not silence


def test_three_nodes_play_a_posted_recording_and_report_it(system_factory, speech_wav):
    sut = system_factory(nodes=3)
    sut.cluster.start_all()
    resp = sut.post_bulletin(speech_wav, title="Lịch tiêm phòng", all="true")
    assert resp.status_code == 201, resp.text
    bulletin = resp.json()
    assert bulletin["targets"] == 3

    report = wait_for(
        lambda: (r := sut.report(bulletin["id"]))["summary"]["completed"] == 3 and r,
        timeout=60,
        what="all three nodes to finish",
    )
    assert report["summary"]["played"] == 3
    assert report["summary"]["text"].startswith("played at 3 of 3 points")
    stored = sut.cluster.config.audio_dir / f"{bulletin['audio_sha256']}.ogg"
    reference = decode_file(stored)
    for node in report["nodes"]:
        assert node["status"] == "finished"
        assert node["started_at"]
        assert node["finished_at"]
        assert node["started_at"].endswith("+07:00")  # reported in Asia/Ho_Chi_Minh
        played = played_files(sut, node["node_id"], bulletin["id"])
        assert played is not None, f"{node['node_id']} wrote no audio"
        assert_same_audio(played, reference.samples, reference.sample_rate)

    with sut.http() as c:
        nodes = c.get("/api/v1/nodes").json()
    assert sorted(n["id"] for n in nodes) == sorted(sut.node_ids)
    assert {n["status"] for n in nodes} <= {"online", "playing"}
    assert all(n["last_seen"] for n in nodes)


def with_one_node_off(system_factory) -> tuple[SystemUnderTest, str]:
    """Broker, controller and the first of two nodes running; returns the one left off."""
    sut = system_factory(nodes=2)
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    sut.cluster.start_node(sut.node_ids[0])
    return sut, sut.node_ids[1]


def test_node_offline_at_posting_plays_after_it_starts(system_factory, speech_wav):
    sut, late = with_one_node_off(system_factory)
    bid = sut.post_bulletin(speech_wav, all="true", valid_seconds=600).json()["id"]
    wait_for(lambda: sut.report(bid)["summary"]["completed"] == 1, 60, "the online node to finish")
    assert sut.report(bid)["summary"]["pending"] == 1
    sut.cluster.start_node(late)
    report = wait_for(
        lambda: (r := sut.report(bid))["summary"]["completed"] == 2 and r,
        60,
        "the late node to play it",
    )
    assert played_files(sut, late, bid) is not None
    assert {n["status"] for n in report["nodes"]} == {"finished"}


def test_node_offline_until_expiry_is_reported_with_the_reason(system_factory, speech_wav):
    sut, late = with_one_node_off(system_factory)
    bid = sut.post_bulletin(speech_wav, all="true", valid_seconds=10).json()["id"]
    report = wait_for(
        lambda: (r := sut.report(bid))["summary"]["not_played"] == 1 and r,
        40,
        "the offline node to be reported as not played",
    )
    missed = next(n for n in report["nodes"] if n["node_id"] == late)
    assert missed["status"] == "expired"
    assert "offline" in missed["reason"]
    assert "expired" in missed["reason"]
    assert late in report["summary"]["text"]

    sut.cluster.start_node(late)  # back after expiry: must not play the stale bulletin
    wait_for(
        lambda: any(
            n["id"] == late and n["status"] == "online"
            for n in sut.http().get("/api/v1/nodes").json()
        ),
        30,
        "the late node to come online",
    )
    time.sleep(3)  # give a wrongly re-sent stale command the time it would need to arrive
    assert played_files(sut, late, bid) is None
    assert sut.report(bid)["summary"]["played"] == 1


def test_a_text_bulletin_is_spoken_and_played(system_factory):
    sut = system_factory(nodes=1)
    sut.cluster.start_all()
    with sut.http() as c:
        resp = c.post(
            "/api/v1/bulletins",
            data={"text": "UBND xã thông báo: họp dân lúc 15h30 ngày 20/11/2026.", "all": "true"},
        )
        assert resp.status_code == 201, resp.text
        tts = resp.json()["processing_report"]["tts"]
        assert "ủy ban nhân dân" in tts["text"]  # normalised before speech
        assert "mười lăm giờ ba mươi phút" in tts["text"]
        both = c.post(
            "/api/v1/bulletins",
            data={"text": "x", "all": "true"},
            files={"file": ("a.wav", b"RIFF")},
        )
        assert both.status_code == 422
        assert both.json()["detail"] == "send either a recording (file) or a text for speech"
        neither = c.post("/api/v1/bulletins", data={"all": "true"})
        assert neither.status_code == 422
        assert neither.json()["detail"] == "send either a recording (file) or a text for speech"
    bid = resp.json()["id"]
    wait_for(lambda: sut.report(bid)["summary"]["completed"] == 1, 60, "the spoken bulletin")
    assert played_files(sut, sut.node_ids[0], bid) is not None
