"""Live: `loa live` from a file plays in step on real node processes, is kept and reported;
an emergency pre-empts it and a restart cuts a point, which both come back in step; Ctrl-C
ends it cleanly. One system (broker, controller, 2 nodes)
for the module: sessions follow one another as they would in a commune."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import wave
from collections.abc import Iterator
from functools import partial
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
        # all of what was sent (the kept recording); on a loaded machine a point also counts
        # up to about half a second of frames it concealed while late packets were on the way
        assert len(source) / RATE - 0.2 <= seconds <= len(sent) / RATE + 0.6
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
    assert {n["live_seconds"] for n in report["nodes"]} == {rows[0][2], rows[1][2]}
    # and in the month's report, as live airtime at both points
    from controller.models import now
    from controller.reports.monthly import month_of, monthly_report
    from tests.support import db_of

    db = db_of(sut)
    with db.session() as s:
        month = monthly_report(s, month_of(now()), now())
    db.engine.dispose()
    assert bulletin_id in month.bulletin_ids
    assert month.by_source["live"] >= 1
    assert month.point_minutes >= 2 * 1.5 / 60
    actions = [r[0] for r in controller_rows(sut, "SELECT action FROM audit_log")]
    assert {"live.start", "live.end"} <= set(actions)
    # nothing is live any more, and the points are back to idle
    with sut.http() as c:
        assert c.get("/api/v1/live").json() == []
    wait_for(lambda: _all_online(sut), 10, "the points idle again")


def test_points_return_to_live_after_an_emergency_and_a_restart_in_step(
    sut, long_speech, speech_wav, tmp_path
):
    """Both points are cut by an emergency and come back after it; then one point's agent
    restarts and rejoins. Each part sounds at the shared playout time, the reports add the
    parts up and show every break; Ctrl-C ends the session cleanly."""
    raw = tmp_path / "mixer.raw"  # a minute of speech, as a PC with a mixer would send it
    speech = np.tile(source_pcm(long_speech), 3)
    raw.write_bytes((np.clip(speech, -1, 1) * 32767).astype("<i2").tobytes())
    with raw.open("rb") as stdin:
        proc = loa_live(sut, "--all", "--raw", "-", stdin=stdin)

    def playing(play_id: str | None = None) -> list[dict[str, Any]] | None:
        with sut.http() as c:
            live = c.get("/api/v1/live").json()
            nodes = c.get("/api/v1/nodes").json()
        # sounding, not only opened: the points play a packet a second after it is sent
        sent = bool(live) and live[0]["seconds_sent"] >= 2.5
        on = sent and all(n["playing"] == (play_id or live[0]["play_id"]) for n in nodes)
        return live if on else None

    [session] = wait_for(playing, 30, "the live session on air")
    play_id = session["play_id"]
    from tests.support import post_alert

    alert = post_alert(sut, speech_wav, all="true")
    assert alert.status_code == 201, alert.text

    alert_id = alert.json()["bulletin_id"]

    def alert_over() -> bool:
        return all(
            any(e["play_id"].startswith(alert_id) for e in node_events(sut, n, "finished"))
            for n in sut.node_ids
        )

    wait_for(alert_over, 60, "the alert played on both points")
    wait_for(lambda: playing(play_id), 30, "both points back on the live session")
    a, b = sut.node_ids
    sut.cluster.stop_node(b)  # as systemd restarts it after an update
    sut.cluster.start_node(b)
    [rejoined] = wait_for(
        lambda: playing(play_id), 60, "the restarted point back on the live session"
    )

    def sounded_on(seconds: float) -> bool:
        # both points still on it, `seconds` of the session sent since the rejoin: the parts
        # compared below then overlap by more than the half second left when Ctrl-C came at
        # once, too little to line up on a loaded machine
        live = playing(play_id)
        return live is not None and live[0]["seconds_sent"] >= rejoined["seconds_sent"] + seconds

    wait_for(lambda: sounded_on(3.0), 30, "three seconds more of the session on both points")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert json.loads(out)["seconds"] < 50  # ended by Ctrl-C, not by the end of the input

    reports = {n: live_report(sut, n, play_id) for n in sut.node_ids}
    assert {r["outcome"] for r in reports.values()} == {"finished"}
    assert [(k["reason"], k["rejoined"]) for k in reports[a]["breaks"]] == [("emergency", True)]
    assert [(k["reason"], k["rejoined"]) for k in reports[b]["breaks"]] == [
        ("emergency", True),
        ("restart", True),
    ]
    assert all(k["seconds"] > 0 for r in reports.values() for k in r["breaks"])
    rows = controller_rows(
        sut, "SELECT status, live_breaks FROM deliveries WHERE play_id=?", play_id
    )
    assert [r[0] for r in rows] == ["finished", "finished"]
    assert sorted(len(json.loads(r[1])) for r in rows) == [1, 2]
    # in step after rejoining: A's part after the alert, B's part after its restart
    heard_a = read_wav(sut.played_dir(a) / f"{play_id}.1.wav")
    heard_b = read_wav(sut.played_dir(b) / f"{play_id}.2.wav")
    start_a = json.loads((sut.played_dir(a) / f"{play_id}.1.json").read_text())["started_at"]
    start_b = json.loads((sut.played_dir(b) / f"{play_id}.2.json").read_text())["started_at"]
    lag, alike = lag_of(heard_a, heard_b)
    assert alike > 0.8
    offset_s = (start_a + lag / RATE) - start_b
    assert abs(offset_s) <= 0.020, f"points {offset_s * 1000:.1f} ms apart after rejoining"


# --- the test speaks as the controller (its key, an account with its rights) -----------------


class Controller:
    """Signs and publishes live commands and packets as the controller does, beside it."""

    def __init__(self, sut: SystemUnderTest) -> None:
        from protocol.signing import load_private_key
        from tests.support.mqtt import Recorder

        self.sut = sut
        # a session opened behind an alert still on air would wait for it (emergency > live)
        wait_for(lambda: _all_online(sut), 60, "the points idle")
        self.key = load_private_key(sut.cluster.config.key_file.read_bytes())
        user, password = sut.observer
        self.mqtt = Recorder(sut.cluster.config.mqtt_port, user, password, client_id=user)

    def open(self, *node_ids: str, quiet_s: float = 4.0) -> tuple[Any, Any]:
        import uuid
        from datetime import timedelta

        from protocol.messages import LiveStartCommand
        from protocol.signing import new_private_key, public_key_b64, sign_command
        from protocol.topics import node_topic

        packet_key = new_private_key()
        start = LiveStartCommand(
            session_id=uuid.uuid4().hex,
            stream_id=uuid.uuid4().hex,
            play_id=f"live-test-{uuid.uuid4().hex[:8]}",
            packet_key=public_key_b64(packet_key),
            max_seq=100_000,
            quiet_s=quiet_s,
        )
        for node_id in node_ids:
            body, envelope = sign_command(self.key, start, [node_id], ttl=timedelta(minutes=5))
            self.mqtt.client.publish(
                node_topic(node_id, "cmd"), envelope.model_dump_json(), qos=1
            ).wait_for_publish(5)
            wait_for(partial(self._acked, node_id, body.command_id), 10, "the start acknowledged")
        return start, packet_key

    def _acked(self, node_id: str, command_id: str) -> bool:
        return any(a["command_id"] == command_id for a in node_events(self.sut, node_id, "ack"))

    def packets(
        self,
        start: Any,
        key: Any,
        frames: list[bytes],
        t0: float,
        *,
        first: int = 0,
        end: bool = False,
    ) -> list[bytes]:
        """Signed packets of ``frames`` from seq ``first``; ``end`` flags the last one."""
        from protocol.live import LivePacket, encode_packet

        last = first + len(frames) - 1
        return [
            encode_packet(
                key,
                LivePacket(
                    start.session_id,
                    seq,
                    round(t0 * 1e6) + seq * 40_000,
                    opus,
                    last=end and seq == last,
                ),
            )
            for seq, opus in enumerate(frames, start=first)
        ]

    def send(self, start: Any, data: list[bytes]) -> None:
        from protocol.topics import stream_topic

        for payload in data:
            self.mqtt.client.publish(stream_topic(start.stream_id), payload, qos=0)

    def close(self) -> None:
        self.mqtt.close()


def opus(seconds: float, hz: float = 0.0) -> list[bytes]:
    from audio.live_opus import LiveEncoder

    t = np.arange(int(seconds * RATE)) / RATE
    x = (0.5 * np.sin(2 * np.pi * hz * t) if hz else np.zeros(t.size)).astype(np.float32)
    encoder = LiveEncoder(40)
    return encoder.encode(x) + encoder.flush()


def live_report(sut: SystemUnderTest, node_id: str, play_id: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        got = [r for r in node_events(sut, node_id, "live_report") if r["play_id"] == play_id]
        return got[0] if got else None

    return wait_for(found, 30, f"{node_id}'s report of {play_id}")


def test_injected_packets_are_never_played(sut):
    import time

    from protocol.live import LivePacket, encode_packet
    from protocol.signing import new_private_key
    from protocol.topics import stream_topic
    from tests.support import publish_as

    node_id = sut.node_ids[0]
    controller = Controller(sut)
    try:
        # an earlier session, whose packets someone recorded
        earlier, earlier_key = controller.open(node_id)
        recorded = controller.packets(earlier, earlier_key, opus(0.4, 1000), time.time(), end=True)
        controller.send(earlier, recorded)
        first = live_report(sut, node_id, earlier.play_id)
        assert first["outcome"] == "finished", first
        start, key = controller.open(node_id)
        t0 = time.time()
        tone = opus(1.2, 1000)
        unsigned = [
            encode_packet(key, LivePacket(start.session_id, s, round(t0 * 1e6) + s * 40_000, p))[
                :-64
            ]
            + bytes(64)
            for s, p in enumerate(tone[:10], start=10)
        ]
        forged = controller.packets(start, new_private_key(), tone[10:20], t0, first=10)
        # what reaches the node before the real packets of the same numbers: none may play
        controller.send(start, unsigned + forged + recorded)
        # a node's own account may not publish on a stream at all: the broker refuses it
        node_password = sut.node_config(sut.node_ids[1])["broker_password"]
        refused = publish_as(
            sut, sut.node_ids[1], node_password, stream_topic(start.stream_id), forged[0]
        )
        assert refused == 0x87  # not authorized
        controller.send(start, controller.packets(start, key, opus(2.0), t0, end=True))
        report = live_report(sut, node_id, start.play_id)
    finally:
        controller.close()
    assert report["outcome"] == "finished"
    assert report["rejected_packets"] >= len(unsigned) + len(forged) + len(recorded)
    heard = read_wav(sut.played_dir(node_id) / f"{start.play_id}.wav")
    assert len(heard) > RATE  # the session itself played
    assert np.max(np.abs(heard)) < 0.01, "an injected tone was played"
    refusals = [r["reason"] for r in node_events(sut, node_id, "rejected")]
    assert any("live packet refused" in r for r in refusals)


def test_silence_on_the_stream_fades_out_and_ends_the_session_with_a_report(sut):
    import time

    node_id = sut.node_ids[1]
    controller = Controller(sut)
    try:
        start, key = controller.open(node_id, quiet_s=1.5)
        controller.send(start, controller.packets(start, key, opus(1.0, 440), time.time()))
        report = live_report(sut, node_id, start.play_id)  # and then nothing more
    finally:
        controller.close()
    assert report["outcome"] == "quiet"
    assert "no live packets" in report["reason"]
    assert report["seconds"] >= 1.0
    heard = read_wav(sut.played_dir(node_id) / f"{start.play_id}.wav")
    assert np.max(np.abs(heard[: RATE // 2])) > 0.1  # the tone played
    assert np.max(np.abs(heard[-480:])) < 0.01  # and faded out at the end
    wait_for(lambda: _all_online(sut), 10, "the point idle again, its amplifier off")


def test_a_coverage_hole_on_one_points_link_is_concealed_and_it_stays_in_step(sut):
    """One point reaches the broker through a 4G-like link (tests/support/radio_link.py) that
    goes dead for 1.6 s mid-session, then delivers what waited in a burst; the other's link is
    clean. The cut-off point conceals what came too late, reports the gap, and sounds every
    later frame at the same moment as the other point."""
    import time

    from tests.support.radio_link import RadioLink

    clean, holed = sut.node_ids
    config_path = sut.cluster.node_configs[holed]
    original = config_path.read_text()
    config = json.loads(original)
    proxy = RadioLink(config["broker_port"]).start()  # TLS passes through untouched
    controller = None
    try:
        sut.cluster.stop_node(holed)
        config_path.write_text(json.dumps({**config, "broker_port": proxy.port}))
        sut.cluster.start_node(holed)
        wait_for(lambda: _all_online(sut), 30, "the point behind the proxy online")
        controller = Controller(sut)
        start, key = controller.open(clean, holed)
        frames = opus(4.0, 440)
        t0 = time.time() + 0.1
        packets = controller.packets(start, key, frames, t0, end=True)
        for seq, payload in enumerate(packets):  # in real time, as a voice comes
            time.sleep(max(0.0, t0 + seq * 0.04 - time.time()))
            if seq == 25:
                proxy.hold(1.6)
            controller.send(start, [payload])
        reports = {n: live_report(sut, n, start.play_id) for n in sut.node_ids}
    finally:
        if controller is not None:
            controller.close()
        sut.cluster.stop_node(holed)
        config_path.write_text(original)
        sut.cluster.start_node(holed)
        proxy.stop()
    assert {r["outcome"] for r in reports.values()} == {"finished"}
    assert (reports[clean]["packets_lost"], reports[clean]["gaps"]) == (0, 0)
    assert reports[holed]["gaps"] >= 1
    assert reports[holed]["packets_lost"] >= 5  # late behind the hole: concealed in place
    records = {
        n: json.loads((sut.played_dir(n) / f"{start.play_id}.json").read_text())
        for n in sut.node_ids
    }
    # nothing skipped or stretched: the same frames at the same moments on both points
    assert records[holed]["frames_played"] == records[clean]["frames_played"]
    assert abs(records[holed]["started_at"] - records[clean]["started_at"]) <= 0.020
    assert abs(records[holed]["ended_at"] - records[clean]["ended_at"]) <= 0.020
    wait_for(lambda: _all_online(sut), 30, "the point back on its own link")
