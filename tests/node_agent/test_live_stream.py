"""A node's live session alone, with its clocks passed in: the jitter buffer, the playout
times every point shares, concealment of lost packets, the fade when the stream goes quiet.
No threads wait: each clock is set so that every frame's moment has come."""

from __future__ import annotations

import threading
import uuid

import numpy as np
import pytest

from audio.live_opus import LiveDecoder, LiveEncoder
from node_agent.live_stream import LEAD_S, LiveStream
from protocol.live import LivePacket, PacketRejectedError
from protocol.messages import LiveStartCommand
from protocol.signing import new_private_key, public_key_b64

T0 = 1_800_000_000.0
FRAME = 1920  # 40 ms at 48 kHz


class Clocks:
    def __init__(self) -> None:
        self.now = T0
        self.mono = 0.0

    def wall(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono


def opus_frames(n: int) -> tuple[list[bytes], np.ndarray]:
    """``n`` Opus packets of a 440 Hz tone, and what a decoder gives for each."""
    x = 0.3 * np.sin(2 * np.pi * 440 * np.arange(FRAME * (n + 2)) / 48000).astype(np.float32)
    encoder = LiveEncoder(40)
    packets = (encoder.encode(x) + encoder.flush())[:n]
    decoder = LiveDecoder(40)
    return packets, np.concatenate([decoder.decode(p) for p in packets])


def alike(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def stream(clocks: Clocks, quiet_s: float = 2.0) -> LiveStream:
    start = LiveStartCommand(
        session_id=uuid.uuid4().hex,
        stream_id=uuid.uuid4().hex,
        play_id="live-1",
        packet_key=public_key_b64(new_private_key()),
        frame_ms=40,
        delay_ms=1000,
        max_seq=10_000,
        quiet_s=quiet_s,
    )
    return LiveStream(start, clock=clocks.wall, monotonic=clocks.monotonic)


def put(live: LiveStream, seq: int, opus: bytes, last: bool = False) -> None:
    live.put(LivePacket(live.session_id, seq, round(T0 * 1e6) + seq * 40_000, opus, last))


def test_a_stream_plays_from_its_first_packet_at_source_time_plus_the_delay():
    clocks = Clocks()
    live = stream(clocks)
    packets, decoded = opus_frames(6)
    for seq in range(2, 6):  # the point joined late: packets 0 and 1 went by
        put(live, seq, packets[seq])
    live.stop(5)
    assert live.wait_first(threading.Event()) == 2
    assert live.sound_at(2) == pytest.approx(T0 + 0.08 + 1.0)  # the same on every point
    clocks.now = T0 + 60  # every frame's moment has come
    out = np.concatenate(list(live.blocks()))
    assert len(out) == 4 * FRAME
    # the decoder joined at packet 2: once it settled it is the same sound
    assert alike(out[FRAME:], decoded[3 * FRAME :]) > 0.9
    assert (live.stats.packets_played, live.stats.packets_lost, live.stats.end) == (
        4,
        0,
        "finished",
    )


def test_lost_packets_are_concealed_and_counted_as_gaps():
    clocks = Clocks()
    live = stream(clocks)
    packets, decoded = opus_frames(10)
    for seq in (0, 1, 2, 3, 5, 6, 9):  # 4 lost (5 carries its FEC copy), 7 and 8 lost
        put(live, seq, packets[seq])
    live.stop(9)
    live.wait_first(threading.Event())
    clocks.now = T0 + 60
    out = np.concatenate(list(live.blocks()))
    assert len(out) == 10 * FRAME  # nothing skipped: the points stay in time
    assert (live.stats.packets_lost, live.stats.gaps) == (3, 2)
    # concealment keeps the tone going instead of a click of silence
    for seq in (4, 7):
        frame = out[seq * FRAME : (seq + 1) * FRAME]
        assert np.sqrt(np.mean(frame**2)) > 0.05, f"frame {seq} went silent"
        assert alike(frame, decoded[seq * FRAME : (seq + 1) * FRAME]) > 0.5


def test_a_stream_that_goes_quiet_fades_out_and_ends():
    clocks = Clocks()
    live = stream(clocks, quiet_s=2.0)
    packets, _ = opus_frames(3)
    for seq in range(3):
        put(live, seq, packets[seq])
    live.wait_first(threading.Event())
    clocks.now = T0 + 60
    blocks = live.blocks()
    for _ in range(3):
        next(blocks)
    clocks.mono += 2.0  # no packet since
    rest = list(blocks)
    assert len(rest) == 1
    tail = rest[0]
    assert abs(tail[-1]) < 1e-3  # faded to silence
    assert live.stats.end == "quiet"
    assert "no live packets for 2 s" in live.stats.reason


def test_a_session_with_no_packet_ends_unplayed():
    clocks = Clocks()
    live = stream(clocks)
    clocks.mono += 60
    assert live.wait_first(threading.Event()) is None
    assert "no live packets" in live.stats.reason


def test_a_packet_too_late_to_play_is_not_where_playing_starts():
    clocks = Clocks()
    live = stream(clocks)
    packets, _ = opus_frames(3)
    put(live, 0, packets[0])
    put(live, 1, packets[1])
    clocks.now = T0 + 1.0 + 0.04 - LEAD_S + 0.001  # packet 1's moment has just gone
    put(live, 2, packets[2])
    assert live.wait_first(threading.Event()) == 2


def test_a_packet_out_of_the_session_clock_is_refused():
    clocks = Clocks()
    live = stream(clocks)
    packets, _ = opus_frames(2)
    put(live, 0, packets[0])
    with pytest.raises(PacketRejectedError, match="outside its slot"):
        live.put(LivePacket(live.session_id, 1, round(T0 * 1e6) + 1, packets[1]))
