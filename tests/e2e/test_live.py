"""Live: `loa live` from a file plays in step on real node processes, is kept and reported;
an emergency pre-empts it; Ctrl-C ends it cleanly. One system (broker, controller, 2 nodes)
for the module: sessions follow one another as they would in a commune."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.signal import correlate

from tests.support import SystemUnderTest, controller_rows, make_system, node_events, wait_for

RATE = 48000


@pytest.fixture(scope="module")
def sut(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemUnderTest]:
    system = make_system(tmp_path_factory.mktemp("live"), nodes=2)
    system.cluster.start_all()
    wait_for(lambda: _all_online(system), 60, "both points online")
    yield system
    system.cluster.stop_all()


def _all_online(sut: SystemUnderTest) -> bool:
    with sut.http() as c:
        nodes = c.get("/api/v1/nodes").json()
    return len(nodes) == 2 and all(n["status"] == "online" for n in nodes)


def loa_live(sut: SystemUnderTest, *args: str, **popen: Any) -> subprocess.Popen[str]:
    env = dict(os.environ, LOA_URL=sut.cluster.url, LOA_TOKEN=sut.token)
    return subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "live", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **popen,
    )


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768


def lag_of(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """Where ``b`` best lines up in ``a`` (samples), and how alike they are there (0-1)."""
    c = correlate(a, b, mode="full", method="fft")
    k = int(np.argmax(c))
    lag = k - (len(b) - 1)
    seg_a = a[max(lag, 0) : max(lag, 0) + len(b)]
    seg_b = b[max(-lag, 0) : max(-lag, 0) + len(seg_a)]
    alike = float(np.dot(seg_a, seg_b) / (np.linalg.norm(seg_a) * np.linalg.norm(seg_b) + 1e-9))
    return lag, alike


def source_pcm(path: Path) -> np.ndarray:
    from audio.live_source import decode_live

    return np.concatenate(list(decode_live(path)))


def test_loa_live_plays_a_file_in_step_on_every_point_and_keeps_it(sut, speech_wav):
    proc = loa_live(sut, "--all", "--title", "Họp thôn dời sang 15 giờ", str(speech_wav))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    play_id, bulletin_id = summary["play_id"], summary["bulletin_id"]
    assert bulletin_id
    assert summary["seconds"] > 1.5

    # every point played it, heard all of it, and said so
    def proven() -> list[tuple[Any, ...]] | None:
        rows = controller_rows(
            sut,
            "SELECT node_id, status, live_seconds, live_gaps FROM deliveries WHERE play_id=?",
            play_id,
        )
        done = len(rows) == 2 and all(r[1] == "finished" and r[2] is not None for r in rows)
        return rows if done else None

    rows = wait_for(proven, 30, "both points' proof of play")
    [(sha,)] = controller_rows(sut, "SELECT audio_sha256 FROM bulletins WHERE id=?", bulletin_id)
    sent = source_pcm(sut.cluster.config.audio_dir / f"{sha}.ogg")  # what the points were sent
    source = source_pcm(speech_wav)
    # the same speech; the leveller rising over the first seconds lowers the likeness
    assert lag_of(sent, source)[1] > 0.6
    heard: dict[str, np.ndarray] = {}
    starts: dict[str, float] = {}
    for node_id, _status, seconds, gaps in rows:
        assert seconds == pytest.approx(len(source) / RATE, abs=0.2)
        assert gaps == 0
        played = sut.played_dir(node_id)
        heard[node_id] = read_wav(played / f"{play_id}.wav")
        starts[node_id] = json.loads((played / f"{play_id}.json").read_text())["started_at"]
        _lag, alike = lag_of(heard[node_id], sent)
        assert alike > 0.9, f"{node_id} did not play the source ({alike:.2f})"
    # in step: where the same sound lies in each sink, in wall-clock time
    a, b = sut.node_ids
    lag, _ = lag_of(heard[a], heard[b])
    offset_s = (starts[a] + lag / RATE) - starts[b]
    assert abs(offset_s) <= 0.020, f"points {offset_s * 1000:.1f} ms apart"

    # kept as a bulletin of kind live, with its report and the audit lines
    [(kind, public)] = controller_rows(
        sut, "SELECT kind, public FROM bulletins WHERE id=?", bulletin_id
    )
    assert (kind, public) == ("live", 0)
    report = sut.report(bulletin_id)
    assert report["summary"]["played"] == 2
    actions = [r[0] for r in controller_rows(sut, "SELECT action FROM audit_log")]
    assert {"live.start", "live.end"} <= set(actions)
    # nothing is live any more, and the points are back to idle
    with sut.http() as c:
        assert c.get("/api/v1/live").json() == []
    wait_for(lambda: _all_online(sut), 10, "the points idle again")


def test_an_emergency_pre_empts_live_and_ctrl_c_ends_it_cleanly(sut, long_speech, speech_wav):
    proc = loa_live(sut, "--all", str(long_speech))

    def on_air() -> list[dict[str, Any]] | None:
        with sut.http() as c:
            live = c.get("/api/v1/live").json()
            nodes = c.get("/api/v1/nodes").json()
        playing = live and all(n["status"] == "playing" for n in nodes)
        return live if playing else None

    [session] = wait_for(on_air, 30, "the live session on air")
    from tests.support import post_alert

    alert = post_alert(sut, speech_wav, all="true")
    assert alert.status_code == 201, alert.text
    play_id = session["play_id"]

    def cut_everywhere() -> list[dict[str, Any]] | None:
        reports = [
            r
            for node_id in sut.node_ids
            for r in node_events(sut, node_id, "live_report")
            if r["play_id"] == play_id
        ]
        return reports if len(reports) == 2 else None

    reports = wait_for(cut_everywhere, 30, "live cut by the emergency on both points")
    for r in reports:
        assert r["outcome"] == "interrupted"
        assert "emergency" in r["reason"]
        assert r["seconds"] > 0
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["bulletin_id"]
    assert summary["seconds"] < 20  # ended by Ctrl-C, not by the end of the file
    rows = controller_rows(
        sut, "SELECT status, reason FROM deliveries WHERE play_id=?", summary["play_id"]
    )
    assert [r[0] for r in rows] == ["interrupted", "interrupted"]
