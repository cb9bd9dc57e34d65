"""A point comes back to a live session it was cut from: after an emergency on the real
player, and after its agent restarted (the session restored from the node's store). Either way
it plays from the packet then due, at the shared playout time, and its report adds the parts
up and shows the break with its reason."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from audio.live_opus import LiveEncoder
from node_agent.live import LiveSessions
from node_agent.live_stream import LiveStream
from node_agent.store import NodeStore
from protocol.live import LivePacket, encode_packet
from protocol.messages import LiveReport, LiveStartCommand
from protocol.signing import new_private_key, public_key_b64
from protocol.topics import stream_topic
from tests.node_agent.test_player import Harness, tone

DELAY_S = 0.5


def opus_packets(seconds: float) -> list[bytes]:
    t = np.arange(int(seconds * 48000)) / 48000
    return LiveEncoder(40).encode((0.3 * np.sin(2 * np.pi * 500 * t)).astype(np.float32))


def start_command(key_b64: str) -> LiveStartCommand:
    return LiveStartCommand(
        session_id=uuid.uuid4().hex,
        stream_id=uuid.uuid4().hex,
        play_id="live-1",
        packet_key=key_b64,
        delay_ms=round(DELAY_S * 1000),
        max_seq=10_000,
    )


def on_the_session_grid(started_at: float, t0: float) -> float:
    """How far (s) a part's first sample is from a frame boundary of the shared playout."""
    offset = (started_at - t0 - DELAY_S) % 0.04
    return min(offset, 0.04 - offset)


@pytest.fixture
def harness(tmp_path):
    h = Harness(tmp_path)
    yield h
    h.player.stop()


def test_a_session_cut_by_an_emergency_returns_after_it_at_the_shared_time(harness):
    live = LiveStream(start_command(public_key_b64(new_private_key())))
    ended: list[str] = []
    live.finished = lambda _record, outcome, _reason: ended.append(outcome)
    packets = opus_packets(9.0)
    t0 = time.time()
    for seq, opus in enumerate(packets):
        source = round(t0 * 1e6) + seq * 40_000
        live.put(LivePacket(live.session_id, seq, source, opus, seq == len(packets) - 1))
    harness.player.go_live(live)
    harness.wait("live-1", "started")
    harness.player.add(harness.command("alarm", tone(0.5, 1000), priority="emergency"))
    harness.wait("alarm", "finished")
    harness.wait("live-1", "finished", timeout=20)

    assert ended == ["finished"]  # the session went on after the emergency, to its end
    assert harness.kinds("live-1") == ["started", "finished"]  # one airing, not two
    (cut,) = live.stats.breaks
    assert (cut.reason, cut.rejoined) == ("emergency", True)
    assert "alarm" in cut.detail
    first, second = harness.record("live-1"), harness.record("live-1.1")
    alarm = harness.record("alarm")
    assert cut.seconds is not None
    assert first["ended_at"] <= alarm["started_at"] < alarm["ended_at"] <= second["started_at"]
    assert cut.seconds == pytest.approx(second["started_at"] - first["ended_at"], abs=0.1)
    # it rejoined on the session's clock, not where it had stopped
    assert on_the_session_grid(second["started_at"], t0) <= 0.02  # in step: the points' 20 ms
    heard = (first["frames_played"] + second["frames_played"]) / 48000
    assert live.stats.seconds == pytest.approx(heard, abs=0.01)
    assert heard < len(packets) * 0.04  # what sounded during the emergency was skipped


class Reports:
    def __init__(self) -> None:
        self.sent: list[LiveReport] = []

    def send(self, event: object) -> None:
        assert isinstance(event, LiveReport)
        self.sent.append(event)

    def reject(self, topic: str, reason: str) -> None:
        raise AssertionError(f"refused {topic}: {reason}")


def sessions(harness: Harness, store: NodeStore, reports: Reports) -> LiveSessions:
    return LiveSessions(
        "n1",
        harness.player,
        reports,  # type: ignore[arg-type]
        subscribe=lambda _t: None,
        unsubscribe=lambda _t: None,
        store=store,
    )


def test_an_agent_that_restarts_mid_session_rejoins_it_from_its_store(tmp_path: Path):
    key = new_private_key()
    command = start_command(public_key_b64(key))
    packets = opus_packets(5.0)
    t0 = time.time() + 0.2

    def feed(live: LiveSessions) -> None:  # the stream as the broker carries it now
        for seq, opus in enumerate(packets):
            source = round(t0 * 1e6) + seq * 40_000
            packet = LivePacket(command.session_id, seq, source, opus, seq == len(packets) - 1)
            topic = stream_topic(command.stream_id)
            live.on_packet(topic, command.stream_id, encode_packet(key, packet))

    store = NodeStore(tmp_path / "node.sqlite3")
    reports = Reports()
    before = Harness(tmp_path / "before")
    live = sessions(before, store, reports)
    assert live.on_start(command, datetime.now(UTC) + timedelta(hours=1)) == ""
    feed(live)
    before.wait("live-1", "started")
    time.sleep(1.0)  # it sounds a while, then the agent stops as NodeAgent._shutdown does
    live.close_all()
    before.player.stop()
    live.save_all()
    assert reports.sent == []  # a restart is not the session's end
    assert "interrupted" not in before.kinds("live-1")
    saved = json.loads(store.open_lives()[0][1])
    assert saved["seconds"] > 0
    store.close()

    store = NodeStore(tmp_path / "node.sqlite3")
    after = Harness(tmp_path / "after")
    try:
        live = sessions(after, store, reports)
        assert live.restore() == 1
        feed(live)
        after.wait("live-1", "finished", timeout=20)
        deadline = time.monotonic() + 10
        while not reports.sent and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        after.player.stop()
    assert after.kinds("live-1") == ["finished"]  # "started" was said before the restart
    (report,) = reports.sent
    assert report.outcome == "finished"
    (gap,) = report.breaks
    assert (gap.reason, gap.rejoined) == ("restart", True)
    part_two = after.record("live-1.1")  # the second part of the session
    assert gap.seconds is not None
    assert gap.seconds > 0
    assert on_the_session_grid(part_two["started_at"], t0) <= 0.02  # in step: the points' 20 ms
    assert report.seconds == pytest.approx(
        saved["seconds"] + part_two["frames_played"] / 48000, abs=0.01
    )
    assert report.seconds < len(packets) * 0.04  # the restart's moments were not heard
    assert store.open_lives() == []  # ended: a later restart does not reopen it
    assert live.restore() == 0
