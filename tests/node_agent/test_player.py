"""The node's player: amplifier pre/post-roll, start on time, pre-emption and resume, misses,
the test tone and the operator's stop."""

from __future__ import annotations

import json
import threading
import time
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from node_agent.attention import TEST_TONE_PEAK, make_test_tone
from node_agent.blocks import ArraySource
from node_agent.player import RESUME_BACKUP_S, Player, Tone, Volumes, volume_gain
from node_agent.relay import RecordingRelay
from node_agent.sinks import WavFileSink
from protocol.messages import AudioRef, PlayCommand

RATE = 8000


def tone(seconds: float, freq: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak(path: Path) -> float:
    with wave.open(str(path)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    return float(np.max(np.abs(pcm))) / 32768


class Harness:
    def __init__(
        self, tmp: Path, preroll: float = 0.3, postroll: float = 0.3, **player_kw: Any
    ) -> None:
        self.audio: dict[str, np.ndarray] = {}
        self.events: list[tuple[str, str, dict[str, object]]] = []
        self.lock = threading.Lock()
        self.relay = RecordingRelay()
        self.dir = tmp
        self.player = Player(
            WavFileSink(tmp),
            self.relay,
            audio_path=Path,
            load=lambda path, start: ArraySource(self.audio[str(path)], RATE, start),
            emit=self.emit,
            on_playing=lambda _p: None,
            preroll_s=preroll,
            postroll_s=postroll,
            **player_kw,
        )
        self.player.start()

    def emit(self, kind: str, play_id: str, **kw: object) -> None:
        with self.lock:
            self.events.append((kind, play_id, kw))

    def kinds(self, play_id: str) -> list[str]:
        with self.lock:
            return [k for k, p, _ in self.events if p == play_id]

    def wait(self, play_id: str, kind: str, timeout: float = 15) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for k, p, kw in self.events:
                    if (k, p) == (kind, play_id):
                        return kw
            time.sleep(0.02)
        raise AssertionError(f"no {kind} for {play_id}; events: {self.events}")

    def command(self, play_id: str, samples: np.ndarray, **kw: object) -> PlayCommand:
        sha = f"{len(self.audio):064x}"
        self.audio[sha] = samples
        fields: dict[str, object] = {
            "valid_until": datetime.now(UTC) + timedelta(minutes=5),
            **kw,
        }
        return PlayCommand(
            play_id=play_id,
            bulletin_id=play_id,
            audio=AudioRef(sha256=sha, size=1, duration_s=len(samples) / RATE),
            **fields,
        )

    def record(self, label: str) -> dict[str, float]:
        return dict(json.loads((self.dir / f"{label}.json").read_text()))


@pytest.fixture
def harness(tmp_path):
    h = Harness(tmp_path)
    yield h
    h.player.stop()


def test_amplifier_on_before_the_start_and_off_after_the_post_roll(harness):
    start = datetime.now(UTC) + timedelta(seconds=1.0)
    harness.player.add(harness.command("p1", tone(0.5, 440), play_at=start))
    harness.wait("p1", "finished")
    time.sleep(0.6)
    (on_at, on), (off_at, off) = harness.relay.transitions
    rec = harness.record("p1")
    assert on
    assert not off
    assert on_at <= rec["started_at"] - 0.25  # pre-roll 0.3 s before the first sample
    assert abs(rec["started_at"] - start.timestamp()) < 0.05  # starts on its time
    assert off_at >= rec["ended_at"] + 0.25  # post-roll after the last one


def test_emergency_cuts_in_and_the_bulletin_resumes_before_the_cut(harness):
    harness.player.add(harness.command("news", tone(4.0, 300)))
    harness.wait("news", "started")
    time.sleep(2.5)
    harness.player.add(harness.command("alarm", tone(0.5, 1000), priority="emergency"))
    harness.wait("news", "finished", timeout=20)
    assert harness.kinds("news") == ["started", "interrupted", "started", "finished"]
    assert "pre-empted by emergency alarm" in str(harness.wait("news", "interrupted")["reason"])
    assert harness.kinds("alarm") == ["started", "finished"]
    assert (harness.dir / "alarm.attention.wav").exists()  # the attention signal opened it
    # the resumed part repeats RESUME_BACKUP_S of what was heard before the cut
    frames = harness.record("news")["frames_played"]
    assert frames > 4.0 * RATE - 2.5 * RATE  # more than what was left after the cut
    assert frames < 4.0 * RATE - 2.5 * RATE + (RESUME_BACKUP_S + 0.5) * RATE


def test_no_room_left_in_its_window_means_interrupted_not_resumed(harness):
    window_end = datetime.now(UTC) + timedelta(seconds=3)
    harness.player.add(harness.command("news", tone(4.0, 300), window_end=window_end))
    harness.wait("news", "started")
    time.sleep(0.5)
    harness.player.add(harness.command("alarm", tone(3.0, 1000), priority="emergency"))
    failed = harness.wait("news", "failed", timeout=20)
    assert failed["interrupted"] is True
    assert "no time left" in str(failed["reason"])


def test_emergency_announced_before_its_audio_plays_the_attention_signal_at_once(harness):
    command = harness.command("storm", tone(0.5, 800), priority="emergency")
    harness.player.announce_emergency(command)
    harness.wait("storm", "started", timeout=5)
    harness.player.add(command)  # the audio arrived
    harness.wait("storm", "finished")
    assert harness.kinds("storm") == ["started", "finished"]
    attention = harness.record("storm.attention")
    assert attention["frames_played"] > 0  # the signal went out before the message
    assert attention["ended_at"] <= harness.record("storm")["started_at"]


def test_missed_start_is_reported_with_the_reason(harness):
    late = harness.command(
        "old",
        tone(0.5, 300),
        play_at=datetime.now(UTC) - timedelta(minutes=10),
        valid_until=datetime.now(UTC) - timedelta(minutes=5),
    )
    harness.player.add(late)
    assert "missed" in str(harness.wait("old", "failed")["reason"])


def test_cancel_drops_a_queued_item_and_stops_a_playing_one(harness):
    harness.player.add(
        harness.command("later", tone(0.5, 300), play_at=datetime.now(UTC) + timedelta(hours=1))
    )
    assert harness.player.cancel("later") == "queued"
    harness.player.add(harness.command("now", tone(5.0, 300)))
    harness.wait("now", "started")
    assert harness.player.cancel("now") == "playing"
    cancelled = harness.wait("now", "cancelled")
    assert cancelled["interrupted"] is True
    assert harness.player.cancel("unknown") is None


def test_emergency_plays_at_the_emergency_volume(tmp_path):
    h = Harness(tmp_path)
    h.player.volumes = Volumes(normal=0.25, emergency=1.0)
    try:
        h.player.add(h.command("quiet", tone(0.3, 300)))
        h.wait("quiet", "finished")
        h.player.add(h.command("loud", tone(0.3, 300), priority="emergency"))
        h.wait("loud", "finished")
    finally:
        h.player.stop()

    assert peak(tmp_path / "quiet.wav") == pytest.approx(0.5 * 0.25, abs=0.01)
    assert peak(tmp_path / "loud.wav") == pytest.approx(0.5, abs=0.01)


def tone_of(label: str, seconds: float) -> Tone:
    return Tone(label, make_test_tone(seconds, RATE), RATE)


def wait_record(h: Harness, label: str, timeout: float = 15) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while not (h.dir / f"{label}.json").exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{label} never played; events: {h.events}")
        time.sleep(0.02)
    return h.record(label)


def test_stop_cuts_what_is_on_air_and_leaves_the_programme(harness):
    later = harness.command("later", tone(0.5, 300), play_at=datetime.now(UTC) + timedelta(hours=1))
    harness.player.add(later)
    harness.player.add(harness.command("now", tone(5.0, 300)))
    harness.wait("now", "started")
    assert harness.player.silence("stopped by operator admin") == ["now"]
    cancelled = harness.wait("now", "cancelled")
    assert cancelled["reason"] == "stopped by operator admin"
    assert cancelled["interrupted"] is True
    assert harness.record("now")["frames_played"] < 5.0 * RATE
    assert harness.kinds("later") == []
    assert harness.player.cancel("later") == "queued"  # still in the programme


def test_stop_during_an_alarm_silences_it_and_nothing_it_cut_comes_back(harness):
    harness.player.add(harness.command("news", tone(6.0, 300)))
    harness.wait("news", "started")
    alarm = harness.command("alarm", tone(0.5, 1000), priority="emergency")
    harness.player.announce_emergency(alarm)  # the attention signal, while the audio loads
    harness.wait("alarm", "started")
    cut = harness.player.silence("stopped by operator admin")
    assert sorted(cut) == ["alarm", "news"]
    assert harness.wait("alarm", "cancelled")["reason"] == "stopped by operator admin"
    assert harness.wait("news", "cancelled")["reason"] == "stopped by operator admin"
    assert wait_record(harness, "alarm.attention")["interrupted"]
    # Something due after the stop plays; the bulletin cut by the alarm, had it stayed queued
    # to resume, would have gone first.
    start = datetime.now(UTC) + timedelta(seconds=0.5)
    harness.player.add(harness.command("next", tone(0.3, 500), play_at=start))
    harness.wait("next", "finished")
    assert harness.kinds("news") == ["started", "interrupted", "cancelled"]
    assert harness.kinds("alarm") == ["started", "cancelled"]


def test_test_tone_plays_at_the_normal_volume(tmp_path):
    h = Harness(tmp_path)
    h.player.volumes = Volumes(normal=0.5, emergency=1.0)
    try:
        assert h.player.play_tone(tone_of("tone", 0.5)) == ""
        record = wait_record(h, "tone")
    finally:
        h.player.stop()
    assert record["frames_played"] == int(0.5 * RATE)
    assert peak(tmp_path / "tone.wav") == pytest.approx(TEST_TONE_PEAK * 0.5, abs=0.01)


def test_test_tone_never_cuts_into_an_emergency_or_a_bulletin(harness):
    alarm = harness.command("alarm", tone(0.5, 1000), priority="emergency")
    harness.player.announce_emergency(alarm)
    assert "emergency" in harness.player.play_tone(tone_of("t1", 1.0))
    harness.player.add(alarm)
    harness.wait("alarm", "finished")
    harness.player.add(harness.command("news", tone(3.0, 300)))
    harness.wait("news", "started")
    assert "news is on air" in harness.player.play_tone(tone_of("t2", 1.0))
    harness.wait("news", "finished")
    assert not list(harness.dir.glob("t*.wav"))


def test_a_bulletin_falling_due_cuts_the_test_tone(harness):
    assert harness.player.play_tone(tone_of("tone", 10.0)) == ""
    start = datetime.now(UTC) + timedelta(seconds=1.0)
    harness.player.add(harness.command("news", tone(0.5, 300), play_at=start))
    harness.wait("news", "finished")
    assert harness.record("tone")["interrupted"]


def test_volume_follows_an_audio_taper():
    assert [volume_gain(v) for v in (0, 50, 100)] == [0.0, 0.25, 1.0]  # 50 is -12 dB


def test_live_cuts_into_a_bulletin_which_resumes_after_it(harness):
    import uuid

    from audio.live_opus import LiveEncoder
    from node_agent.live_stream import LiveStream
    from protocol.live import LivePacket
    from protocol.messages import LiveStartCommand
    from protocol.signing import new_private_key, public_key_b64

    harness.player.add(harness.command("news", tone(3.0, 300)))
    harness.wait("news", "started")
    live = LiveStream(
        LiveStartCommand(
            session_id=uuid.uuid4().hex,
            stream_id=uuid.uuid4().hex,
            play_id="live-1",
            packet_key=public_key_b64(new_private_key()),
            delay_ms=500,
            max_seq=1000,
        )
    )
    ended: list[str] = []
    live.finished = lambda _record, outcome, _reason: ended.append(outcome)
    t = np.arange(48000) / 48000
    encoder = LiveEncoder(40)
    frames = encoder.encode((0.3 * np.sin(2 * np.pi * 500 * t)).astype(np.float32))
    t0 = round(time.time() * 1e6)
    for seq, opus in enumerate(frames):
        live.put(LivePacket(live.session_id, seq, t0 + seq * 40_000, opus, seq == len(frames) - 1))
    harness.player.go_live(live)
    harness.wait("live-1", "finished")
    harness.wait("news", "finished", timeout=20)
    assert ended == ["finished"]
    assert harness.kinds("news") == ["started", "interrupted", "started", "finished"]
    assert "pre-empted by live live-1" in str(harness.wait("news", "interrupted")["reason"])
    assert harness.record("live-1")["frames_played"] == len(frames) * 1920
    assert [on for _at, on in harness.relay.transitions] == [True]  # on throughout


def test_audio_rotted_since_it_was_prepared_is_never_aired_and_goes_back(tmp_path):
    """The cached file is checked as it is loaded to air: a damaged one is handed back to be
    fetched again, and nothing of it reaches the loudspeaker."""
    rotten: set[str] = set()
    handed_back: list[PlayCommand] = []
    back = threading.Event()

    def damaged(command: PlayCommand) -> None:
        handed_back.append(command)
        back.set()

    h = Harness(tmp_path, 0.0, 0.0, intact=lambda sha: sha not in rotten, damaged=damaged)
    try:
        command = h.command("p1", tone(0.3, 440))
        rotten.add(command.audio.sha256)
        h.player.add(command)
        assert back.wait(15)
        assert handed_back == [command]
        assert h.kinds("p1") == []  # neither started nor failed: it is being fetched again
        assert not (tmp_path / "p1.wav").exists()
        assert not h.relay.is_on  # the amplifier never came on for it
        rotten.clear()  # fetched again, intact
        h.player.add(command)
        h.wait("p1", "finished")
        assert h.kinds("p1") == ["started", "finished"]
    finally:
        h.player.stop()
