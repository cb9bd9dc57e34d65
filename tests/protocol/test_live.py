"""Live packets: what a node plays and what it refuses, and why."""

from __future__ import annotations

import uuid

import pytest

from protocol.limits import fits_packet
from protocol.live import (
    FLAG_LAST,
    HEADER_BYTES,
    MAX_LIVE_PACKET_BYTES,
    LivePacket,
    PacketRejectedError,
    SeqWindow,
    SessionClock,
    decode_packet,
    encode_packet,
)
from protocol.messages import LiveStartCommand
from protocol.signing import load_public_key, new_private_key, public_key_b64
from protocol.topics import stream_topic

T0 = 1_800_000_000_000_000  # µs


def session() -> tuple[LiveStartCommand, object]:
    key = new_private_key()
    start = LiveStartCommand(
        session_id=uuid.uuid4().hex,
        stream_id=uuid.uuid4().hex,
        play_id="live-1",
        packet_key=public_key_b64(key),
        frame_ms=40,
        max_seq=1000,
    )
    return start, key


def packet(start: LiveStartCommand, seq: int, **kw: object) -> LivePacket:
    fields: dict[str, object] = {
        "session_id": start.session_id,
        "seq": seq,
        "source_us": T0 + seq * 40_000,
        "opus": b"\xfc" + bytes(range(1, 61)),
    }
    fields.update(kw)
    return LivePacket(**fields)  # type: ignore[arg-type]


def test_a_signed_packet_of_the_session_is_taken_as_sent():
    start, key = session()
    sent = packet(start, 7, last=True)
    data = encode_packet(key, sent)  # type: ignore[arg-type]
    assert data[HEADER_BYTES - 1] == FLAG_LAST
    assert decode_packet(data, start, load_public_key(start.packet_key)) == sent


def test_unsigned_forged_foreign_and_earlier_session_packets_are_refused():
    start, key = session()
    pub = load_public_key(start.packet_key)
    good = encode_packet(key, packet(start, 3))  # type: ignore[arg-type]
    unsigned = good[:-64] + bytes(64)
    tampered = good[:-65] + b"\x00" + good[-64:]  # one byte of audio changed
    other, other_key = session()
    # another session's key claiming this session (a stolen node signs with what it has)
    forged = encode_packet(new_private_key(), packet(start, 3))
    # a packet of an earlier session, replayed on this session's topic
    earlier = encode_packet(other_key, packet(other, 3))  # type: ignore[arg-type]
    for data, why in [
        (unsigned, "bad signature"),
        (tampered, "bad signature"),
        (forged, "bad signature"),
        (earlier, "another session"),
        (b"LOA\x01" + bytes(10), "not a live packet"),
        (b"x" * 200, "bad magic"),
    ]:
        with pytest.raises(PacketRejectedError, match=why):
            decode_packet(data, start, pub)


def test_a_packet_past_the_session_end_is_refused():
    start, key = session()
    data = encode_packet(key, packet(start, start.max_seq + 1))  # type: ignore[arg-type]
    with pytest.raises(PacketRejectedError, match="past the session's end"):
        decode_packet(data, start, load_public_key(start.packet_key))


def test_each_seq_plays_once_and_old_ones_are_refused():
    window = SeqWindow(size=8)
    for seq in (0, 2, 1, 5):
        window.take(seq)
    with pytest.raises(PacketRejectedError, match="replayed"):
        window.take(2)
    window.take(20)
    with pytest.raises(PacketRejectedError, match="older than the replay window"):
        window.take(12)
    window.take(13)


def test_the_first_packet_fixes_the_session_clock_and_later_ones_must_keep_to_it():
    start, _key = session()
    clock = SessionClock(start)
    clock.check(packet(start, 5), now_us=T0)
    assert clock.source_us(10) == T0 + 10 * 40_000
    clock.check(packet(start, 9), now_us=T0)
    with pytest.raises(PacketRejectedError, match="outside its slot"):
        clock.check(packet(start, 9, source_us=T0 + 9 * 40_000 + 1), now_us=T0)


def test_a_first_packet_far_from_the_node_clock_is_refused():
    start, _key = session()
    with pytest.raises(PacketRejectedError, match="from this node's clock"):
        SessionClock(start).check(packet(start, 0), now_us=T0 + 3_600_000_000)


def test_the_largest_packet_fits_the_broker_at_qos_0():
    assert fits_packet(
        stream_topic(uuid.uuid4().hex), bytes(MAX_LIVE_PACKET_BYTES), qos=0, expiry=False
    )
    start, key = session()
    with pytest.raises(ValueError, match="exceeds"):
        encode_packet(key, packet(start, 0, opus=bytes(1276)))  # type: ignore[arg-type]
