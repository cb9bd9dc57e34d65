"""The chain's input decoded, measured and resampled in one stream: the same figures and
samples as decoding whole, measuring and resampling, the decoder's limits kept, and memory
bounded by the working-rate signal."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile

from audio.analysis import describe
from audio.decode import Decoded, decode_file
from audio.decode_working import decode_working, measure_file
from audio.errors import AudioError, CorruptAudioError, TooLongAudioError, TooShortAudioError
from audio.filters import highpass_zero_phase
from audio.report import SignalReport
from audio.resample import resample
from audio.stream_meter import StreamMeter
from audio.truepeak import true_peak_over
from tests.support.audio import amr_with_rejected_frames, ffmpeg, needs_ffmpeg, needs_sox, write_wav

WORK = 16000


def _pieces(x: np.ndarray, seed: int) -> list[np.ndarray]:
    """``x`` cut at random places, from 1 sample to a few seconds: how a decoder delivers."""
    rng = np.random.default_rng(seed)
    cuts = np.cumsum(rng.integers(1, 150_000, size=x.size // 1000 + 2))
    return np.split(x, cuts[cuts < x.size])


def _signal(kind: str, sr: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    n = {"short": int(0.3 * sr), "two_seconds": 2 * sr}.get(kind, 37 * sr + 123)
    t = np.arange(n) / sr
    x = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 0.3 * t))
    x += 0.01 * rng.standard_normal(n)
    if kind == "silence":
        x[:] = 0.0
    if kind == "dc":
        x += 0.2
    if kind == "clipped":  # flat tops at 0.6, then a louder passage clipped at full scale
        x[sr : 6 * sr] = np.clip(4 * x[sr : 6 * sr], -0.6, 0.6)
        x[20 * sr : 24 * sr] = np.clip(5 * x[20 * sr : 24 * sr], -1.0, 1.0)
    if kind == "bursts":  # quiet with loud bursts: gating, LRA, true peak found late
        x *= 0.01
        x[30 * sr : 31 * sr] *= 90
    return np.asarray(x, dtype=np.float32)


@pytest.mark.parametrize("sr", [48000, 44100, 11025, 8000])
@pytest.mark.parametrize(
    "kind", ["tone", "clipped", "dc", "bursts", "silence", "short", "two_seconds"]
)
def test_stream_meter_gives_describes_figures(sr: int, kind: str) -> None:
    x = _signal(kind, sr)
    meter = StreamMeter(sr)
    for piece in _pieces(x, sr + len(kind)):
        meter.feed(piece)
    assert meter.report() == describe(x, sr)


def test_clipping_counts_against_the_final_peak() -> None:
    # the first flat tops (0.6) are clipping until the louder ones (1.0) come: only those count
    x = _signal("clipped", 48000)
    meter = StreamMeter(48000)
    for piece in _pieces(x, 3):
        meter.feed(piece)
    report = meter.report()
    assert report is not None
    assert report.clipped_share == describe(x, 48000).clipped_share
    only_loud = np.count_nonzero(np.abs(x[20 * 48000 : 24 * 48000]) >= 0.999) / x.size
    assert 0.95 * only_loud < report.clipped_share <= only_loud  # runs of 3 or more count


def _whole(path: Path, max_seconds: float = 3600.0) -> tuple[np.ndarray, SignalReport, Decoded]:
    """What the chain did before: decode whole, describe, resample."""
    dec = decode_file(path, max_seconds=max_seconds)
    return resample(dec.samples, dec.sample_rate, WORK), describe(dec.samples, dec.sample_rate), dec


def _check_same(path: Path) -> None:
    samples, measured, dec = _whole(path)
    got = decode_working(path, rate=WORK)
    assert got.measured == measured
    assert got.decoded.samples.shape == samples.shape
    np.testing.assert_allclose(got.decoded.samples, samples, atol=2e-6)
    assert got.source_samples == dec.samples.size
    for field in (
        "source_format",
        "codec",
        "channels",
        "source_rate",
        "skipped_packets",
        "total_packets",
        "nonfinite_samples",
        "dropped_channels",
    ):
        assert getattr(got.decoded, field) == getattr(dec, field), field
    assert got.decoded.sample_rate == WORK


FORMATS = {
    "wav": ["-c:a", "pcm_s16le"],
    "ogg": ["-c:a", "libopus", "-b:a", "32k"],
    "m4a": ["-c:a", "aac", "-b:a", "64k"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    "webm": ["-c:a", "libopus", "-b:a", "32k"],
    "3gp": ["-c:a", "aac", "-ar", "16000", "-b:a", "32k"],
}


@needs_ffmpeg
@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_same_as_decoding_whole(tmp_path: Path, bulletin_wav: Path, ext: str) -> None:
    out = tmp_path / f"rec.{ext}"
    ffmpeg("-i", str(bulletin_wav), "-ac", "2", *FORMATS[ext], str(out))
    _check_same(out)


def test_mono_wav_same_as_decoding_whole(bulletin_wav: Path) -> None:
    _check_same(bulletin_wav)


def _stereo(tmp_path: Path, left: np.ndarray, right: np.ndarray) -> Path:
    path = tmp_path / "st.wav"
    write_wav(str(path), np.stack([left, right], axis=1), 48000)
    return path


def test_dead_channel_is_left_out(tmp_path: Path) -> None:
    live = _signal("tone", 48000)[: 5 * 48000]
    path = _stereo(tmp_path, np.zeros_like(live), live)
    got = decode_working(path, rate=WORK)
    assert got.decoded.dropped_channels == [0]
    assert got.measured.integrated_lufs == describe(live, 48000).integrated_lufs
    _check_same(path)


def test_opposite_polarity_uses_the_loudest_channel(tmp_path: Path) -> None:
    live = _signal("tone", 48000)[: 5 * 48000]
    path = _stereo(tmp_path, 0.9 * live, -live)
    got = decode_working(path, rate=WORK)
    assert got.decoded.dropped_channels == [0]
    assert np.abs(got.decoded.samples).max() > 0.5
    _check_same(path)


def test_three_channels_mix_the_live_ones(tmp_path: Path) -> None:
    a = _signal("tone", 48000)[: 4 * 48000]
    b = np.roll(a, 4800)
    path = tmp_path / "three.wav"
    write_wav(str(path), np.stack([a, np.zeros_like(a), b], axis=1), 48000)
    got = decode_working(path, rate=WORK)
    assert got.decoded.dropped_channels == [1]
    assert got.decoded.channels == 3
    _check_same(path)


def test_nan_and_inf_are_zeroed_and_counted(tmp_path: Path) -> None:
    x = _signal("tone", 48000)[: 6 * 48000]
    x[1000:1100] = np.nan
    x[50_000] = np.inf
    path = tmp_path / "nan.wav"
    scipy.io.wavfile.write(path, 48000, x)
    got = decode_working(path, rate=WORK)
    assert got.decoded.nonfinite_samples == 101
    assert np.isfinite(got.decoded.samples).all()
    _check_same(path)


@needs_sox
def test_rejected_amr_packets_are_skipped_and_counted(tmp_path: Path, bulletin_wav: Path) -> None:
    out = amr_with_rejected_frames(bulletin_wav, tmp_path / "rec.amr")
    got = decode_working(out, rate=WORK)
    assert 0 < got.decoded.skipped_packets < got.decoded.total_packets
    _check_same(out)


def test_limits_and_bad_files(tmp_path: Path, bulletin_wav: Path) -> None:
    with pytest.raises(TooLongAudioError, match="limit"):
        decode_working(bulletin_wav, rate=WORK, max_seconds=2.0)
    path = tmp_path / "long.wav"
    write_wav(str(path), np.zeros(16000 * 5, dtype=np.float32), 16000)
    data = bytearray(path.read_bytes())
    data[40:44] = (0xFFFFFFF0).to_bytes(4, "little")  # no usable declared length
    path.write_bytes(bytes(data))
    with pytest.raises(TooLongAudioError):
        decode_working(path, rate=WORK, max_seconds=1.0)
    junk = tmp_path / "junk.amr"
    junk.write_bytes(b"#!AMR\n" + bytes([8 << 3]) * 2000)
    with pytest.raises(CorruptAudioError):
        decode_working(junk, rate=WORK)
    empty = tmp_path / "empty.wav"
    write_wav(str(empty), np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(TooShortAudioError):
        decode_working(empty, rate=WORK)
    with pytest.raises(AudioError, match="no such file"):
        decode_working(tmp_path / "nope.m4a", rate=WORK)


def test_ten_minutes_of_48_khz_never_whole_in_memory(tmp_path: Path) -> None:
    # 10 minutes at 48 kHz are 115 MB of float32: decoding them whole (as before) costs that
    # and more; streamed, the 16 kHz result (38 MB) and a few seconds of input are all
    minutes = 10
    n = minutes * 60 * 48000
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    with path.open("wb") as f:  # written in pieces, so the test itself stays small too
        scipy.io.wavfile.write(f, 48000, np.zeros(0, np.int16))
    data = bytearray(path.read_bytes())
    data[4:8] = (36 + 2 * n).to_bytes(4, "little")
    data[40:44] = (2 * n).to_bytes(4, "little")
    with path.open("wb") as f:
        f.write(bytes(data))
        for lo in range(0, n, 48000 * 30):
            piece = 3000 * rng.standard_normal(min(48000 * 30, n - lo))
            f.write(piece.astype("<i2").tobytes())
    source_bytes = n * 4
    tracemalloc.start()
    try:
        got = decode_working(path, rate=WORK)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    working_bytes = got.decoded.samples.nbytes
    assert working_bytes == n // 3 * 4
    assert got.measured.duration_s == minutes * 60
    assert peak < working_bytes + 12_000_000, peak
    assert peak < source_bytes / 2


def test_a_written_file_is_measured_as_it_decodes(tmp_path: Path) -> None:
    # what checked_encode needs of an encoded file: describe's figures and the places over the
    # fix limit, as decoding it whole and measuring would give them
    x = 1.4 * _signal("bursts", 48000)
    x[5 * 48000 : 5 * 48000 + 20] = [0.95, -0.95] * 10  # intersample peaks over 1.0
    path = tmp_path / "hot.wav"
    scipy.io.wavfile.write(path, 48000, x)
    got = measure_file(path, max_seconds=60.0, over=0.5)
    dec = decode_file(path)
    over, peaks = true_peak_over(dec.samples, 48000, threshold=0.5)
    assert got.report == describe(dec.samples, 48000)
    assert got.sample_rate == 48000
    assert over.size > 100
    np.testing.assert_array_equal(got.over, over)
    np.testing.assert_allclose(got.peaks, peaks, rtol=1e-6)
    assert measure_file(path, max_seconds=60.0).over.size == 0
    # a file already rejected by a peak: the places over the level all found, no report
    cut = measure_file(path, max_seconds=60.0, over=0.5, enough_above=0.9)
    assert cut.report is None
    np.testing.assert_array_equal(cut.over, over)
    assert measure_file(path, max_seconds=60.0, enough_above=100.0).report == got.report
    with pytest.raises(TooLongAudioError):
        measure_file(path, max_seconds=10.0)


def test_zero_phase_highpass_holds_one_array_besides_its_input() -> None:
    # five full-length arrays before (input shifted, forward, reversed, backward, reordered)
    x = _signal("dc", 16000)[: 16000 * 30]
    x = np.tile(x, 10)
    tracemalloc.start()
    try:
        y = highpass_zero_phase(x, 16000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert abs(float(y.mean())) < 1e-3
    assert peak < 1.3 * x.nbytes, peak / x.nbytes


def test_a_written_wav_measures_the_same_in_larger_packets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the check reads a WAV in 16 kB packets (audio.decode_working._CHECK_WAV_PACKET_BYTES):
    # fewer, larger frames, the same figures to the bit as FFmpeg's default packets give
    import audio.decode_working as dw
    from audio.av_input import decoded_frames, open_input

    x = 0.7 * _signal("bursts", 16000)
    x[3 * 16000 : 3 * 16000 + 20] = [0.99, -0.99] * 10
    path = tmp_path / "out.wav"
    write_wav(str(path), x, 16000)  # 16-bit, as the chain writes it
    packet_bytes = dw._CHECK_WAV_PACKET_BYTES
    larger = measure_file(path, max_seconds=60.0, over=0.5)
    monkeypatch.setattr(dw, "_CHECK_WAV_PACKET_BYTES", None)
    default = measure_file(path, max_seconds=60.0, over=0.5)
    assert larger.report == default.report
    assert larger.over.size > 0
    assert larger.over.tobytes() == default.over.tobytes()
    assert larger.peaks.tobytes() == default.peaks.tobytes()

    def frames(packet_bytes: int | None) -> int:
        source = open_input(path, 60.0, wav_packet_bytes=packet_bytes)
        with source.container:
            return sum(1 for _ in decoded_frames(source))

    assert frames(packet_bytes) < frames(None) // 4
