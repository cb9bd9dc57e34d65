"""A technician's controls of a loudspeaker point, end to end: volume, test tone, stop."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audio.decode import decode_file
from node_agent.attention import TEST_TONE_HZ, TEST_TONE_PEAK
from node_agent.player import volume_gain
from tests.support import SystemUnderTest, controller_rows, wait_for
from tests.support.audio import read_wav


def node_row(sut: SystemUnderTest, node_id: str) -> dict[str, Any]:
    with sut.http() as c:
        return next(n for n in c.get("/api/v1/nodes").json() if n["id"] == node_id)


def control(sut: SystemUnderTest, node_id: str, action: str, **body: Any) -> dict[str, Any]:
    """POST a control as a form; wait until the node has answered; return its answer."""
    with sut.http() as c:
        resp = c.post(f"/api/v1/nodes/{node_id}/{action}", data=body)
    assert resp.status_code == 202, resp.text
    return answered(sut, node_id, resp.json()["command_id"])


def answered(sut: SystemUnderTest, node_id: str, command_id: str) -> dict[str, Any]:
    def status() -> dict[str, Any] | None:
        with sut.http() as c:
            got = c.get(f"/api/v1/nodes/{node_id}/commands/{command_id}").json()
        return got if got["result"] != "pending" else None

    return wait_for(status, 30, f"the node to answer command {command_id}")


def wait_played(sut: SystemUnderTest, node_id: str, label: str) -> Path:
    """The WAV a simulated node wrote for ``label`` (its JSON record is written last)."""
    played = sut.played_dir(node_id)
    wait_for((played / f"{label}.json").exists, 60, f"{label} to be played")
    return played / f"{label}.wav"


def audit_actions(sut: SystemUnderTest) -> list[tuple[str, str, str]]:
    return [
        (actor, action, target)
        for actor, action, target in controller_rows(
            sut, "SELECT actor, action, target FROM audit_log WHERE action LIKE 'node.%'"
        )
    ]


def test_bad_requests_are_refused_and_queue_nothing(system_factory):
    sut = system_factory(nodes=1)
    sut.cluster.start_broker()
    sut.cluster.start_controller()
    node = sut.node_ids[0]
    volume_url = f"/api/v1/nodes/{node}/volume"
    with sut.http() as c:
        for form in ({"volume": "150"}, {"volume": "-1"}, {"volume": "abc"}, {"volume": "4.5"}):
            r = c.post(volume_url, data=form)
            assert r.status_code == 422, (form, r.text)
            assert "volume must be a whole number from 0 to 100" in r.json()["detail"]
        for body in ({"volume": 150}, {"volume": True}, {}):
            r = c.post(volume_url, json=body)
            assert r.status_code == 422, (body, r.text)
            assert "volume" in r.json()["detail"]
        r = c.post(volume_url, content=b"[40]", headers={"Content-Type": "application/json"})
        assert r.status_code == 422
        assert r.json()["detail"] == "the JSON body must be an object of fields"
        for action, form in (("volume", {"volume": "40"}), ("test-tone", {}), ("stop", {})):
            r = c.post(f"/api/v1/nodes/no-such-point/{action}", data=form)
            assert r.status_code == 404, r.text
            assert "no-such-point" in r.json()["detail"]
        for seconds in ("0", "31", "five"):
            r = c.post(f"/api/v1/nodes/{node}/test-tone", data={"seconds": seconds})
            assert r.status_code == 422
            assert "seconds must be a whole number from 1 to 30" in r.json()["detail"]
        r = c.post(f"/api/v1/nodes/{node}/stop", data={"reason": "x" * 201})
        assert r.status_code == 422
        assert r.json()["detail"] == "reason is longer than 200 characters"
        r = c.get(f"/api/v1/nodes/{node}/commands/nope")
        assert r.status_code == 404
        assert r.json()["detail"] == f"no command nope for node {node}"
        anonymous = c.post(volume_url, data={"volume": "40"}, headers={"Authorization": ""})
        assert anonymous.status_code == 401
        assert anonymous.json()["detail"] == "missing bearer token"
    assert controller_rows(sut, "SELECT count(*) FROM outbox") == [(0,)]
    assert audit_actions(sut) == []


def test_volume_reaches_the_node_survives_a_restart_and_sets_the_level_of_all_it_plays(
    system_factory, speech_wav
):
    sut = system_factory(nodes=1)
    sut.cluster.start_all()
    node = sut.node_ids[0]
    fresh = wait_for(lambda: (n := node_row(sut, node))["agent_version"] and n, 30, "a state")
    assert fresh["status"] == "online"
    assert fresh["volume"] == 100  # never set: full volume
    assert fresh["clock_offset_ms"] is not None
    assert abs(fresh["clock_offset_ms"]) < 5000  # one machine, one clock
    assert "signal_dbm" in fresh

    with sut.http() as c:
        resp = c.post(f"/api/v1/nodes/{node}/volume", json={"volume": 40})
    assert resp.status_code == 202, resp.text
    assert resp.json()["command"] == "set_volume"
    assert answered(sut, node, resp.json()["command_id"])["result"] == "acked"
    wait_for(lambda: node_row(sut, node)["volume"] == 40, 30, "the node to report volume 40")
    assert ("admin", "node.set_volume", node) in audit_actions(sut)

    sut.cluster.stop_node(node)
    wait_for(lambda: node_row(sut, node)["status"] == "offline", 30, "the node to go offline")
    sut.cluster.start_node(node)
    bid = sut.post_bulletin(speech_wav, all="true").json()["id"]
    wait_for(lambda: sut.report(bid)["summary"]["completed"] == 1, 60, "the bulletin to play")
    assert node_row(sut, node)["volume"] == 40

    # What the node played is the controller's audio scaled by the volume's gain.
    sha = sut.report(bid)["bulletin"]["audio_sha256"]
    reference = decode_file(sut.cluster.config.audio_dir / f"{sha}.ogg").samples
    played, _rate = read_wav(sut.played_dir(node) / f"{bid}.wav")
    n = min(len(played), len(reference))
    gain = float(np.dot(played[:n], reference[:n]) / np.dot(reference[:n], reference[:n]))
    assert gain == pytest.approx(volume_gain(40), abs=0.005)

    # The test tone: 1 kHz for the seconds asked, at the same volume.
    answer = control(sut, node, "test-tone", seconds="2")
    assert answer["result"] == "acked", answer
    tone, rate = read_wav(wait_played(sut, node, f"test-tone.{answer['command_id']}"))
    assert len(tone) == 2 * rate
    spectrum = np.abs(np.fft.rfft(tone))
    assert np.argmax(spectrum) * rate / len(tone) == pytest.approx(TEST_TONE_HZ, abs=2)
    assert float(np.max(np.abs(tone))) == pytest.approx(TEST_TONE_PEAK * volume_gain(40), abs=0.005)
    assert ("admin", "node.test_tone", node) in audit_actions(sut)


def test_stop_cuts_a_long_bulletin_reports_it_cancelled_and_keeps_the_programme(
    system_factory, long_speech, speech_wav
):
    sut = system_factory(nodes=1)
    sut.cluster.start_all()
    node = sut.node_ids[0]
    later_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = sut.post_bulletin(speech_wav, all="true", play_at=later_at).json()["id"]
    wait_for(lambda: sut.report(later)["nodes"][0]["status"] == "ready", 60, "the later one stored")
    long = sut.post_bulletin(long_speech, all="true").json()["id"]
    wait_for(lambda: sut.report(long)["summary"]["played"] == 1, 60, "the long bulletin on air")

    answer = control(sut, node, "stop", reason="loa hú")
    assert answer["result"] == "acked"

    def cancelled() -> dict[str, Any] | None:
        row = sut.report(long)["nodes"][0]
        return row if row["status"] == "cancelled" else None

    row = wait_for(cancelled, 30, "the cut bulletin to be reported cancelled")
    assert row["reason"] == "stopped by operator admin: loa hú"
    record = json.loads((sut.played_dir(node) / f"{long}.json").read_text())
    assert record["interrupted"]
    heard_s = record["frames_played"] / record["sample_rate"]
    assert heard_s < sut.report(long)["bulletin"]["duration_s"] - 1
    wait_for(lambda: node_row(sut, node)["status"] == "online", 30, "the point to fall silent")
    assert sut.report(later)["nodes"][0]["status"] == "ready"  # still in the programme
    assert ("admin", "node.stop", node) in audit_actions(sut)
