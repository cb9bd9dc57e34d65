"""Opus packets: written as the muxer would, and re-encoded only where the signal changed."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from audio import opus
from audio.decode import decode_file
from audio.decode_stream import open_stream
from audio.dynamics import curve_spans, reduce_gain_at, reduce_gain_curve
from audio.encode import write_audio, write_blocks
from audio.samples import reblock

SR = 16000
OPTS = opus.options(complexity=0, application="audio", frame_ms=60, vbr="off")


@pytest.fixture(scope="module")
def speech(speech16: np.ndarray) -> np.ndarray:
    return speech16 * np.float32(0.7 / np.max(np.abs(speech16)))


def _encoded_through_the_stream(path: Path, x: np.ndarray) -> None:
    """Opus written the plain PyAV way: frames into the output stream's own encoder."""
    with av.open(str(path), mode="w", format="ogg", options={"fflags": "+bitexact"}) as c:
        stream = c.add_stream("libopus", rate=SR, options=dict(OPTS))
        assert isinstance(stream, av.AudioStream)
        stream.bit_rate = 32000
        stream.layout = "mono"
        stream.format = "flt"
        for start in range(0, x.size, 4800):
            frame = av.AudioFrame.from_ndarray(
                x[None, start : start + 4800], format="flt", layout="mono"
            )
            frame.sample_rate = SR
            frame.pts = start
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode(None):
            c.mux(packet)


def test_written_packets_are_the_file_the_stream_encoder_writes(
    tmp_path: Path, speech: np.ndarray
) -> None:
    _encoded_through_the_stream(tmp_path / "plain.ogg", speech)
    write_audio(tmp_path / "ours.ogg", speech, SR, opus_complexity=0)
    assert (tmp_path / "ours.ogg").read_bytes() == (tmp_path / "plain.ogg").read_bytes()


def _odd_blocks(x: np.ndarray) -> list[np.ndarray]:
    """``x`` in blocks of uneven sizes, around and across the encoder's frames."""
    cuts = np.cumsum([1, 4799, 4801, 960, 12000, 3, 7000])
    return np.split(x, cuts[cuts < x.size])


def test_blocks_are_cut_into_the_frames_a_whole_signal_gives() -> None:
    x = np.arange(20_003, dtype=np.float32)
    pieces = list(reblock(_odd_blocks(x), 4800))
    assert [p.size for p in pieces] == [4800] * 4 + [803]
    assert np.array_equal(np.concatenate(pieces), x)


@pytest.mark.parametrize("suffix", [".ogg", ".mp3"])
def test_written_as_blocks_is_the_file_written_whole(
    tmp_path: Path, speech: np.ndarray, suffix: str
) -> None:
    write_audio(tmp_path / f"whole{suffix}", speech, SR, bitrate=24000)
    write_blocks(tmp_path / f"blocks{suffix}", _odd_blocks(speech), SR, bitrate=24000)
    whole = (tmp_path / f"whole{suffix}").read_bytes()
    assert (tmp_path / f"blocks{suffix}").read_bytes() == whole


def _quieter(x: np.ndarray, at_s: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """``x`` lowered by 6 dB for 50 ms at each time, and the spans that changed."""
    over = np.array([round(t * SR) + k for t in at_s for k in range(0, 800, 8)], dtype=np.int64)
    need = np.full(over.size, 6.0)
    d, block = reduce_gain_curve(x.size, SR, over, need)
    return reduce_gain_at(x, SR, over, need), curve_spans(d, block, x.size)


def test_a_local_change_is_spliced_in_and_matches_a_whole_new_encode(
    tmp_path: Path, speech: np.ndarray
) -> None:
    first = opus.encode(speech, SR, bitrate=32000, opts=OPTS)
    changed, spans = _quieter(speech, [3.0, 7.5])
    assert _mask(spans, speech)[changed != speech].all()  # the spans hold every change
    spliced = opus.reencode(first, changed, spans)
    whole = opus.encode(changed, SR, bitrate=32000, opts=OPTS)

    old, new, ref = (bytes_of(s) for s in (first, spliced, whole))
    assert len(new) == len(old) == len(ref)
    replaced = [k for k in range(len(old)) if new[k] != old[k]]
    # only packets near the two changes were re-encoded ...
    assert replaced
    assert all(abs(k * 0.06 - 3.0) < 1.0 or abs(k * 0.06 - 7.5) < 1.0 for k in replaced)
    # ... and they are what encoding everything again gives, bar a packet or two
    assert sum(a != b for a, b in zip(new, ref, strict=True)) <= 2

    opus.write(tmp_path / "spliced.ogg", spliced)
    opus.write(tmp_path / "whole.ogg", whole)
    a = decode_file(tmp_path / "spliced.ogg").samples
    b = decode_file(tmp_path / "whole.ogg").samples
    assert a.size == b.size
    assert float(np.max(np.abs(a - b))) < 0.01
    # the change is in the file: 6 dB down where it was made
    at = slice(round(3.01 * 48000), round(3.04 * 48000))
    before = decode_file_samples(tmp_path, first)[at]
    assert rms_db(a[at]) == pytest.approx(rms_db(before) - 6.0, abs=1.0)


def test_changes_covering_most_of_the_signal_encode_it_all_again(speech: np.ndarray) -> None:
    first = opus.encode(speech, SR, bitrate=32000, opts=OPTS)
    changed, spans = _quieter(speech, [float(t) for t in np.arange(0.5, speech.size / SR, 0.6)])
    assert bytes_of(opus.reencode(first, changed, spans)) == bytes_of(
        opus.encode(changed, SR, bitrate=32000, opts=OPTS)
    )


def test_with_the_encoders_signal_analysis_a_splice_is_as_good_as_a_whole_new_encode(
    tmp_path: Path, speech: np.ndarray
) -> None:
    pesq = pytest.importorskip("pesq").pesq
    opts = opus.options(
        complexity=opus.ANALYSIS_COMPLEXITY, application="audio", frame_ms=60, vbr="off"
    )
    first = opus.encode(speech, SR, bitrate=32000, opts=opts)
    changed, spans = _quieter(speech, [3.0, 7.5])
    spliced = opus.reencode(first, changed, spans)
    whole = opus.encode(changed, SR, bitrate=32000, opts=opts)
    assert spliced.encodes == 1  # no second whole encode
    old, new = bytes_of(first), bytes_of(spliced)
    replaced = [k for k in range(len(old)) if new[k] != old[k]]
    assert replaced
    assert all(abs(k * 0.06 - 3.0) < 1.0 or abs(k * 0.06 - 7.5) < 1.0 for k in replaced)
    # the packets differ from a whole new encode's, the sound does not
    opus.write(tmp_path / "spliced.ogg", spliced)
    opus.write(tmp_path / "whole.ogg", whole)
    a = decode_file(tmp_path / "spliced.ogg", target_sr=SR).samples
    b = decode_file(tmp_path / "whole.ogg", target_sr=SR).samples
    n = min(a.size, b.size, changed.size)
    assert (
        float(pesq(SR, changed[:n], a[:n], "wb"))
        >= float(pesq(SR, changed[:n], b[:n], "wb")) - 0.03  # warm-up of 8 packets: -0.055
    )
    # the change is in the file: 6 dB down where it was made
    opus.write(tmp_path / "first.ogg", first)
    before = decode_file(tmp_path / "first.ogg", target_sr=SR).samples
    at = slice(round(3.01 * SR), round(3.04 * SR))
    assert rms_db(a[at]) == pytest.approx(rms_db(before[at]) - 6.0, abs=1.0)


def test_a_splice_keeps_the_count_of_whole_encodes_and_a_fallback_adds_one(
    speech: np.ndarray,
) -> None:
    first = replace(opus.encode(speech, SR, bitrate=32000, opts=OPTS), gain_db=0.25)
    assert first.encodes == 1
    changed, spans = _quieter(speech, [3.0])
    spliced = opus.reencode(first, changed, spans)
    assert (spliced.encodes, spliced.gain_db) == (1, 0.25)
    everywhere = np.array([[0, speech.size]])
    again = opus.reencode(spliced, changed * np.float32(0.5), everywhere)
    assert (again.encodes, again.gain_db) == (2, 0.25)  # encoded whole; the header gain kept


def test_the_header_gain_scales_what_decoders_give(tmp_path: Path, speech: np.ndarray) -> None:
    plain = opus.encode(speech, SR, bitrate=32000, opts=OPTS)
    opus.write(tmp_path / "plain.ogg", plain)
    opus.write(tmp_path / "gained.ogg", replace(plain, gain_db=0.3))
    a = decode_file(tmp_path / "plain.ogg").samples
    b = decode_file(tmp_path / "gained.ogg").samples  # PyAV: the controller
    gain = np.float32(10 ** (opus.gain_step(0.3) / 20))
    np.testing.assert_allclose(b, a * gain, rtol=1e-6, atol=1e-7)
    # the node's player streams the file, from the start or resumed part-way through
    for start in (0, 3 * 48000):
        with open_stream(tmp_path / "gained.ogg", start=start) as stream:
            played = np.concatenate(list(stream))
        np.testing.assert_allclose(played, b[start:], rtol=0, atol=1e-6)
    # Debian's ffmpeg (the command line; Chromium decodes Opus with FFmpeg too) applies it
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(tmp_path / "gained.ogg"), "-f", "f32le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    c = np.frombuffer(raw, dtype="<f4")
    assert c.size == b.size
    np.testing.assert_allclose(c, b, atol=1e-6)
    # the packets are the same: only the header differs
    assert (tmp_path / "gained.ogg").stat().st_size == (tmp_path / "plain.ogg").stat().st_size


def test_the_header_gain_is_held_in_steps_of_1_256_db() -> None:
    head = b"OpusHead\x01\x01\x38\x01\x80\x3e\x00\x00\x00\x00\x00"
    assert opus.with_output_gain(head, 0.3)[16:18] == (77).to_bytes(2, "little")  # 0.3008 dB
    assert opus.with_output_gain(head, -1.0)[16:18] == (-256).to_bytes(2, "little", signed=True)
    assert opus.with_output_gain(head, 0.3)[:16] + head[18:] == head[:16] + head[18:]
    with pytest.raises(ValueError, match="OpusHead"):
        opus.with_output_gain(b"OggS" + head[4:], 0.3)


def test_nothing_changed_keeps_the_packets(speech: np.ndarray) -> None:
    first = opus.encode(speech, SR, bitrate=32000, opts=OPTS)
    assert opus.reencode(first, speech, np.empty((0, 2), dtype=np.int64)) is first


def test_opus_refuses_a_rate_it_cannot_code(speech: np.ndarray) -> None:
    with pytest.raises(ValueError, match="22050"):
        opus.encode(speech, 22050, bitrate=32000, opts=OPTS)


def _mask(spans: np.ndarray, x: np.ndarray) -> np.ndarray:
    m = np.zeros(x.size, dtype=bool)
    for a, b in spans:
        m[a:b] = True
    return m


def bytes_of(stream: opus.OpusStream) -> list[bytes]:
    return [p.data for p in stream.packets]


def decode_file_samples(tmp_path: Path, stream: opus.OpusStream) -> np.ndarray:
    path = tmp_path / "first.ogg"
    opus.write(path, stream)
    return decode_file(path).samples


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))
