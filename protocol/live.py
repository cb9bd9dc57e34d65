"""Live packets: one Opus frame each, signed with the session's own key, checked by every node.

A packet is ``header ‖ opus ‖ signature``::

    header  = magic "LOA\\x01" (4) ‖ session id (16) ‖ seq (u32) ‖ source time µs (u64) ‖ flags (u8)
    signature = Ed25519(session private key, header ‖ opus)          (64 bytes)

The session key is made fresh for each session by the controller and never leaves it; its public
half travels in the signed :class:`~protocol.messages.LiveStartCommand` to each targeted node,
inside the controller's own command signature. So a node plays a packet only when:

- it verifies under the key of a session this node was opened for (unsigned, forged, another
  session's or an earlier session's packets fail here: each session has its own key);
- its session id is that session's, its seq is within the session and its source time is
  exactly ``t0 + seq · frame`` for the session's one ``t0`` (the first packet a node takes
  fixes it: :class:`SessionClock`), so a packet cannot be moved in time;
- its seq was not played before (:class:`SeqWindow`: a replay within the session is dropped).

A node's broker account may read stream topics and never write them (protocol/topics.py), and
a node holds no session's private key, so a stolen node can make no other point speak.
Big-endian throughout; the header is fixed-size so a node parses it without allocation.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.limits import MAX_PACKET_BYTES
from protocol.messages import LiveStartCommand

MAGIC: Final = b"LOA\x01"
_HEADER = struct.Struct(">4s16sIQB")
HEADER_BYTES: Final = _HEADER.size  # 33
SIGNATURE_BYTES: Final = 64
FLAG_LAST: Final = 0x01  # the last packet of the session
# A packet is one Opus frame of at most 60 ms: 1275 bytes is Opus's own maximum frame size
# (RFC 6716 §3.2.1), far inside the broker's packet limit.
MAX_OPUS_BYTES: Final = 1275
MAX_LIVE_PACKET_BYTES: Final = HEADER_BYTES + MAX_OPUS_BYTES + SIGNATURE_BYTES
assert MAX_LIVE_PACKET_BYTES < MAX_PACKET_BYTES // 100
# Seqs remembered behind the newest one: a replay of anything older is refused as too old.
WINDOW: Final = 1024


class PacketRejectedError(Exception):
    """Why a node did not play a packet; counted and reported, never played."""


@dataclass(frozen=True)
class LivePacket:
    session_id: str  # 32 hex digits
    seq: int
    source_us: int  # controller time of the packet's first sample, µs since the epoch
    opus: bytes
    last: bool = False


def encode_packet(key: Ed25519PrivateKey, packet: LivePacket) -> bytes:
    if len(packet.opus) > MAX_OPUS_BYTES:
        raise ValueError(f"an Opus frame of {len(packet.opus)} bytes exceeds {MAX_OPUS_BYTES}")
    header = _HEADER.pack(
        MAGIC,
        bytes.fromhex(packet.session_id),
        packet.seq,
        packet.source_us,
        FLAG_LAST if packet.last else 0,
    )
    signed = header + packet.opus
    return signed + key.sign(signed)


def frame_us(start: LiveStartCommand) -> int:
    return start.frame_ms * 1000


def decode_packet(data: bytes, start: LiveStartCommand, key: Ed25519PublicKey) -> LivePacket:
    """The packet in ``data`` if it belongs to the session ``start`` opened; raises
    PacketRejectedError otherwise. Replays within the session are :class:`SeqWindow`'s job."""
    if not HEADER_BYTES + SIGNATURE_BYTES < len(data) <= MAX_LIVE_PACKET_BYTES:
        raise PacketRejectedError(f"not a live packet: {len(data)} bytes")
    signed, signature = data[:-SIGNATURE_BYTES], data[-SIGNATURE_BYTES:]
    magic, session, seq, source, flags = _HEADER.unpack_from(signed)
    if magic != MAGIC:
        raise PacketRejectedError("not a live packet: bad magic")
    if session.hex() != start.session_id:
        raise PacketRejectedError(f"packet of another session {session.hex()}")
    try:
        key.verify(signature, signed)
    except InvalidSignature:
        raise PacketRejectedError("bad signature: not signed for this session") from None
    if seq > start.max_seq:
        raise PacketRejectedError(f"seq {seq} is past the session's end {start.max_seq}")
    return LivePacket(start.session_id, seq, source, signed[HEADER_BYTES:], bool(flags & FLAG_LAST))


class SeqWindow:
    """The seqs already taken in one session: each plays once, whatever repeats it."""

    def __init__(self, size: int = WINDOW) -> None:
        self.size = size
        self.newest = -1
        self._seen: set[int] = set()

    def take(self, seq: int) -> None:
        """Remember ``seq``; raises PacketRejectedError for a seq seen or too old to tell."""
        if seq <= self.newest - self.size:
            raise PacketRejectedError(f"packet {seq} is older than the replay window")
        if seq in self._seen:
            raise PacketRejectedError(f"packet {seq} already received (replayed)")
        self._seen.add(seq)
        if seq > self.newest:
            self.newest = seq
            floor = seq - self.size
            if len(self._seen) > 2 * self.size:
                self._seen = {s for s in self._seen if s > floor}


# How far from the node's clock the first packet's source time may be: the session's delay and
# the link's lag are seconds, a node clock chrony keeps is off by milliseconds.
MAX_CLOCK_GAP_US: Final = 30_000_000


class SessionClock:
    """The session's ``t0``: fixed by the first packet taken, then every packet must agree."""

    def __init__(self, start: LiveStartCommand) -> None:
        self._frame_us = frame_us(start)
        self.t0_us: int | None = None

    def check(self, packet: LivePacket, now_us: int) -> None:
        t0 = packet.source_us - packet.seq * self._frame_us
        if self.t0_us is None:
            if abs(packet.source_us - now_us) > MAX_CLOCK_GAP_US:
                raise PacketRejectedError(
                    f"packet {packet.seq} claims a source time {packet.source_us - now_us} µs"
                    " from this node's clock"
                )
            self.t0_us = t0
        elif t0 != self.t0_us:
            raise PacketRejectedError(f"packet {packet.seq} claims a source time outside its slot")

    def source_us(self, seq: int) -> int:
        """When packet ``seq``'s first sample was spoken, on the controller's clock (µs)."""
        assert self.t0_us is not None, "no packet taken yet"
        return self.t0_us + seq * self._frame_us
