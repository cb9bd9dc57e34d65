"""Opus in Ogg through PyAV (libopus), kept as packets so that a few places can be re-encoded.

The chain encodes, decodes the file and, where the codec pushed the true peak over the limit,
lowers the signal locally and encodes again (:func:`audio.pipeline.process_file`). At constant
bit rate libopus's packets depend on the recent input only: re-encoding a changed signal from
scratch changes the packets around the change and leaves the rest bit-identical (measured on
10 minutes of speech at complexity 0: every differing packet lay within 8 packets of changed
input). So :func:`reencode` encodes only windows around the changed samples, each with a fresh
encoder started ``WARM_PACKETS`` earlier on the same input, and splices the new packets in. On
the benchmark that re-encodes about a tenth of the file, and at complexity 0 the spliced stream
differs from a full re-encode in 3 of 10,001 packets (decoded difference below 0.002).

From complexity 7 (:data:`ANALYSIS_COMPLEXITY`) libopus analyses the signal with a memory no
fresh encoder catches up with (started 8 to 32 packets early, a third of the packets still
differ from a whole new encode), and a whole new encode differs from the first everywhere after
the change, not only near it. Neither is better: on 30 s of speech with four changes, the
spliced file scored the same PESQ-WB as the whole new encode (4.516 both), its worst 10 ms of
coding error was no worse, and at the splices the error rose by at most 3-4 dB for a few tens of
milliseconds (still some 20 dB under the speech). So these streams are spliced too, with a
longer warm-up (:data:`ANALYSIS_WARM_PACKETS`), which spares the chain a second whole encode at
the complexity where an encode costs most.

The written file is always decoded and measured in full afterwards, so the limits hold for the
file as it is.

Writing packets through PyAV's Ogg muxer gives the same bytes as encoding through the stream
(a test checks it), so :func:`audio.encode.write_audio` uses this module too.

A stream may carry an output gain (:attr:`OpusStream.gain_db`), written into the Ogg Opus
header (RFC 7845 §5.1: a gain in Q7.8 dB that decoders apply to everything they decode). The
chain uses it to put a decoded file that the codec left a little off the loudness target back
on it without encoding again (:mod:`audio.checked_encode`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np

from audio.samples import reblock

RATES = (8000, 12000, 16000, 24000, 48000)
_FEED = 4800  # samples per frame handed to the encoder
# packets around a change that a fresh encoder needs to agree with the running one, and after
# it for the running one to return to its old packets (measured: at most 8 of 60 ms)
WARM_PACKETS = 8
TAIL_PACKETS = 8
# from this complexity libopus analyses the signal (tonality; speech or music): spliced
# windows no longer give a whole new encode's packets, only packets as good (module docstring),
# and only from a longer warm-up: started 8 packets early, the windows cost 0.07-0.08 PESQ-WB
# on 12 s of speech (four signals); 12 or more, nothing
ANALYSIS_COMPLEXITY = 7
ANALYSIS_WARM_PACKETS = 16


class Packet(NamedTuple):
    """One coded packet; ``pts`` and ``duration`` in input samples (a tenth of the memory of a
    kept ``av.Packet``)."""

    data: bytes
    pts: int
    duration: int


@dataclass
class OpusStream:
    """The packets of one mono signal encoded at ``rate`` Hz with the given settings."""

    rate: int
    bitrate: int
    options: dict[str, str]
    packets: list[Packet] = field(default_factory=list)
    gain_db: float = 0.0  # the header's output gain (RFC 7845), a multiple of 1/256 dB
    encodes: int = 1  # whole-signal encodes that made it (a splice re-encodes windows only)

    @property
    def delay(self) -> int:
        """Encoder delay in input samples: packet ``k`` starts at input sample ``k·F - delay``."""
        return -self.packets[0].pts if self.packets else 0

    @property
    def frame(self) -> int:
        """Input samples per packet."""
        return self.packets[0].duration if self.packets else 0


def options(*, complexity: int, application: str, frame_ms: float, vbr: str) -> dict[str, str]:
    """libopus encoder options in FFmpeg's names."""
    return {
        "application": application,
        "compression_level": str(complexity),
        "frame_duration": f"{frame_ms:g}",
        "vbr": vbr,
    }


def _encoder(rate: int, bitrate: int, opts: dict[str, str]) -> av.AudioCodecContext:
    ctx = av.CodecContext.create("libopus", "w")
    assert isinstance(ctx, av.AudioCodecContext)
    ctx.sample_rate = rate
    ctx.layout = "mono"
    ctx.format = "flt"
    ctx.bit_rate = bitrate
    ctx.options = dict(opts)
    ctx.open()
    return ctx


def _encode_span(x: np.ndarray, start: int, stop: int, stream: OpusStream) -> list[Packet]:
    """Packets of a fresh encoder fed ``x[start:stop]`` (timestamps as in the whole signal)."""
    ctx = _encoder(stream.rate, stream.bitrate, stream.options)
    pcm = np.ascontiguousarray(x[start:stop], dtype=np.float32)
    out: list[Packet] = []

    def keep(coded: list[av.Packet[av.AudioStream]]) -> None:
        out.extend(_packets(coded))

    for s in range(0, pcm.size, _FEED):
        frame = av.AudioFrame.from_ndarray(pcm[None, s : s + _FEED], format="flt", layout="mono")
        frame.sample_rate = stream.rate
        frame.pts = start + s
        keep(ctx.encode(frame))
    if stop >= x.size:
        keep(ctx.encode(None))
    return out


def encode(x: np.ndarray, rate: int, *, bitrate: int, opts: dict[str, str]) -> OpusStream:
    """Encode mono float32 ``x`` at ``rate`` (one of :data:`RATES`)."""
    if rate not in RATES:
        raise ValueError(f"Opus cannot encode at {rate} Hz; resample to one of {RATES}")
    stream = OpusStream(rate=rate, bitrate=bitrate, options=dict(opts))
    stream.packets = _encode_span(x, 0, x.size, stream)
    return stream


def encode_blocks(
    blocks: Iterable[np.ndarray], rate: int, *, bitrate: int, opts: dict[str, str]
) -> Iterator[Packet]:
    """The packets :func:`encode` makes of the concatenation of mono ``blocks``, as the blocks
    come: the encoder is fed the same frames, so the packets are the same, and a long signal is
    never held whole."""
    if rate not in RATES:
        raise ValueError(f"Opus cannot encode at {rate} Hz; resample to one of {RATES}")
    ctx = _encoder(rate, bitrate, opts)
    start = 0
    for pcm in reblock(blocks, _FEED):
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        start += pcm.size
        yield from _packets(ctx.encode(frame))
    yield from _packets(ctx.encode(None))


def _packets(coded: list[av.Packet[av.AudioStream]]) -> list[Packet]:
    return [Packet(bytes(p), int(p.pts or 0), int(p.duration or 0)) for p in coded]


def _warm(stream: OpusStream) -> int:
    """Packets a fresh encoder runs before its packets are spliced in."""
    analyses = int(stream.options.get("compression_level", "10")) >= ANALYSIS_COMPLEXITY
    return ANALYSIS_WARM_PACKETS if analyses else WARM_PACKETS


def _windows(
    spans: np.ndarray, n_packets: int, frame: int, delay: int, warm: int
) -> list[tuple[int, int]]:
    """Runs ``[a, b)`` of packets to replace: those holding changed samples, the packet before
    (the encoder looks ahead), and ``TAIL_PACKETS`` after; runs closer than a warm-up merged."""
    first = np.maximum((spans[:, 0] + delay) // frame - 1, 0)
    last = np.minimum((spans[:, 1] - 1 + delay) // frame + TAIL_PACKETS + 1, n_packets)
    runs: list[tuple[int, int]] = []
    for a, b in zip(first.tolist(), last.tolist(), strict=True):
        if runs and a <= runs[-1][1] + warm:
            runs[-1] = (runs[-1][0], max(runs[-1][1], b))
        else:
            runs.append((a, b))
    return runs


def reencode(stream: OpusStream, x: np.ndarray, spans: np.ndarray) -> OpusStream:
    """``stream`` for the signal ``x``, which differs from the one encoded only within the
    sample spans ``[start, stop)`` (rows of ``spans``, sorted): windows around them are
    re-encoded and spliced in.

    Encodes the whole signal again when the windows cover most of it, or when their packets
    do not line up with the old ones (never seen; it would mean the encoder's framing changed).
    """
    if spans.size == 0 or not stream.packets:
        return stream
    frame, delay, warm = stream.frame, stream.delay, _warm(stream)
    packets = list(stream.packets)
    windows = _windows(spans, len(packets), frame, delay, warm)
    if sum(b - a + warm for a, b in windows) > len(packets) // 2:
        return _again(stream, x)
    for a, b in windows:
        m = max(0, a - warm)
        stop = min(x.size, (b + 1) * frame)  # one packet more: the encoder's look-ahead
        if b >= len(packets) - 1:
            stop = x.size  # the end: flushed exactly as the whole encode was
        for p in _encode_span(x, m * frame, stop, stream):
            k = (p.pts + delay) // frame
            if not a <= k < b:
                continue
            if k >= len(packets) or packets[k].pts != p.pts:
                return _again(stream, x)
            packets[k] = p
    return replace(stream, packets=packets)


def _again(stream: OpusStream, x: np.ndarray) -> OpusStream:
    """``x`` encoded whole with ``stream``'s settings and header gain."""
    new = encode(x, stream.rate, bitrate=stream.bitrate, opts=stream.options)
    return replace(new, gain_db=stream.gain_db, encodes=stream.encodes + 1)


def write(path: Path, stream: OpusStream) -> None:
    """Mux the packets into an Ogg file at ``path``.

    ``bitexact``: no random Ogg serial and no encoder tag, so the same audio always gives the
    same bytes and the controller stores it once by sha256.
    """
    write_packets(
        path,
        stream.packets,
        stream.rate,
        bitrate=stream.bitrate,
        opts=stream.options,
        gain_db=stream.gain_db,
    )


def write_packets(
    path: Path,
    packets: Iterable[Packet],
    rate: int,
    *,
    bitrate: int,
    opts: dict[str, str],
    gain_db: float = 0.0,
) -> None:
    """Mux ``packets`` (a list, or a generator such as :func:`encode_blocks`) into an Ogg file
    at ``path``, each as it comes. The stream's own encoder is opened (not fed) so the Ogg
    headers carry its OpusHead, which equals that of the packets' encoder."""
    with av.open(str(path), mode="w", format="ogg", options={"fflags": "+bitexact"}) as container:
        out = container.add_stream("libopus", rate=rate, options=dict(opts))
        assert isinstance(out, av.AudioStream)
        out.bit_rate = bitrate
        out.layout = "mono"
        out.format = "flt"
        if gain_db:
            out.codec_context.open()  # its OpusHead exists from here; the header not yet written
            out.codec_context.extradata = with_output_gain(out.codec_context.extradata, gain_db)
        container.start_encoding()
        time_base = Fraction(1, rate)
        for p in packets:
            packet = av.Packet(p.data)
            packet.pts = packet.dts = p.pts
            packet.duration = p.duration
            packet.time_base = time_base
            packet.stream = out
            container.mux(packet)


_GAIN_OFFSET = 16  # OpusHead: magic (8), version, channels, pre-skip (2), input rate (4), gain


def gain_step(gain_db: float) -> float:
    """``gain_db`` as the header can hold it (Q7.8: steps of 1/256 dB, at most ±128 dB)."""
    return round(min(127.99, max(-128.0, gain_db)) * 256) / 256


def with_output_gain(head: bytes | None, gain_db: float) -> bytes:
    """The OpusHead ``head`` with its output gain set to ``gain_db`` (rounded to 1/256 dB)."""
    if head is None or len(head) < _GAIN_OFFSET + 2 or not head.startswith(b"OpusHead"):
        raise ValueError("not an Opus identification header (OpusHead)")
    q78 = round(gain_step(gain_db) * 256)
    return head[:_GAIN_OFFSET] + q78.to_bytes(2, "little", signed=True) + head[_GAIN_OFFSET + 2 :]
