"""Decoding phone and browser formats, dead channels, and bad files."""

from __future__ import annotations

import shutil
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from audio.decode import decode_file, to_mono
from audio.errors import (
    AudioError,
    CorruptAudioError,
    EmptyAudioError,
    TooLongAudioError,
    TooShortAudioError,
    UnsupportedFormatError,
)
from audio.loudness import integrated_loudness
from tests.support.audio import (
    amr_with_rejected_frames,
    ffmpeg,
    low_bitrate_opus,
    needs_ffmpeg,
    needs_sox,
    write_wav,
)

FORMATS = {
    "m4a": ["-c:a", "aac", "-b:a", "64k"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    "ogg": ["-c:a", "libopus", "-b:a", "32k"],
    "webm": ["-c:a", "libopus", "-b:a", "32k"],
    "flac": ["-c:a", "flac"],
    "wav": ["-c:a", "pcm_s16le"],
    "3gp": ["-c:a", "aac", "-ar", "16000", "-b:a", "32k"],
}


@needs_ffmpeg
@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_phone_and_browser_formats(tmp_path: Path, bulletin_wav: Path, ext: str) -> None:
    out = tmp_path / f"rec.{ext}"
    ffmpeg("-i", str(bulletin_wav), *FORMATS[ext], str(out))
    ref = decode_file(bulletin_wav)
    dec = decode_file(out, target_sr=16000)
    assert dec.sample_rate == 16000
    assert dec.samples.dtype == np.float32
    assert dec.samples.ndim == 1
    assert abs(dec.duration_s - ref.duration_s) < 0.1
    assert dec.skipped_packets == 0
    assert dec.total_packets > 0
    loud_ref = integrated_loudness(ref.samples, ref.sample_rate)
    assert integrated_loudness(dec.samples, 16000) == pytest.approx(loud_ref, abs=0.5)


@needs_sox
def test_amr_nb(tmp_path: Path, bulletin_wav: Path) -> None:
    # Debian's sox writes AMR-NB only (no AMR-WB encoder anywhere here); AMR-WB decoding
    # goes through the same packet loop.
    rate = "8000"
    out = tmp_path / "rec.amr"
    subprocess.run(["sox", str(bulletin_wav), "-r", rate, "-t", "amr-nb", str(out)], check=True)
    dec = decode_file(out)
    assert dec.sample_rate == int(rate)
    assert dec.duration_s > 10
    assert dec.total_packets > 0
    assert dec.skipped_packets < dec.total_packets
    assert integrated_loudness(dec.samples, dec.sample_rate) > -40


@needs_sox
def test_amr_with_corrupt_packets_skips_and_counts(tmp_path: Path, bulletin_wav: Path) -> None:
    out = amr_with_rejected_frames(bulletin_wav, tmp_path / "rec.amr")
    dec = decode_file(out)
    assert dec.skipped_packets > 0
    assert 0 < dec.skipped_share < 1
    assert dec.duration_s > 3


def test_amr_with_nothing_decodable_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "junk.amr"
    path.write_bytes(b"#!AMR\n" + bytes([8 << 3]) * 2000)
    with pytest.raises(AudioError):
        decode_file(path)


def test_stereo_with_dead_channel_keeps_the_live_one() -> None:
    rng = np.random.default_rng(1)
    live = (0.3 * rng.standard_normal(48000)).astype(np.float32)
    frames = np.stack([live, np.zeros_like(live)], axis=1)
    mono, dropped = to_mono(frames)
    np.testing.assert_allclose(mono, live)
    assert dropped == [1]


def test_opposite_polarity_channels_do_not_cancel() -> None:
    live = np.sin(np.linspace(0, 600, 48000)).astype(np.float32)
    mono, _ = to_mono(np.stack([live, -live], axis=1))
    assert np.abs(mono).max() > 0.9


def test_stereo_file_with_dead_channel(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    live = (0.2 * rng.standard_normal(16000)).astype(np.float32)
    path = tmp_path / "st.wav"
    write_wav(str(path), np.stack([np.zeros_like(live), live], axis=1), 16000)
    dec = decode_file(path)
    assert dec.channels == 2
    assert dec.dropped_channels == [0]
    assert np.abs(dec.samples - live).max() < 1e-3


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", TooShortAudioError),
        (b"this is a text file, not a recording\n" * 20, UnsupportedFormatError),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(200), AudioError),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path: Path, content: bytes, error: type) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(error) as info:
        decode_file(path)
    assert "bad.wav" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match="no such file"):
        decode_file(tmp_path / "nope.m4a")


@needs_ffmpeg
def test_truncated_file(tmp_path: Path, bulletin_wav: Path) -> None:
    out = tmp_path / "rec.m4a"
    ffmpeg("-i", str(bulletin_wav), "-c:a", "aac", str(out))
    head = tmp_path / "cut.m4a"
    head.write_bytes(out.read_bytes()[:300])
    with pytest.raises((CorruptAudioError, UnsupportedFormatError, EmptyAudioError)):
        decode_file(head)


def test_overlong_input_is_refused_before_decoding(bulletin_wav: Path) -> None:
    with pytest.raises(TooLongAudioError, match="limit"):
        decode_file(bulletin_wav, max_seconds=2.0)


def test_overlong_input_without_declared_duration(tmp_path: Path) -> None:
    # a raw ADTS/AMR stream declares no reliable duration: the decoder stops at the limit
    path = tmp_path / "long.wav"
    write_wav(str(path), np.zeros(16000 * 5, dtype=np.float32), 16000)
    data = bytearray(path.read_bytes())
    data[40:44] = (0xFFFFFFF0).to_bytes(4, "little")  # bogus data size: length unknown
    path.write_bytes(bytes(data))
    with pytest.raises(TooLongAudioError):
        decode_file(path, max_seconds=1.0)


@pytest.fixture(scope="session")
def forty_minutes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    return low_bitrate_opus(tmp_path_factory.mktemp("bomb") / "long.opus", 40 * 60)


def test_a_long_low_bitrate_file_is_refused_without_decoding_it(forty_minutes: Path) -> None:
    # under 1 MB on disk, 460 MB once decoded to 48 kHz float32: refused while decoding, holding
    # a small part of that at most
    whole = 40 * 60 * 48000 * 4
    tracemalloc.start()
    try:
        with pytest.raises(TooLongAudioError, match="the limit is 30 minutes"):
            decode_file(forty_minutes, max_seconds=1800)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert forty_minutes.stat().st_size < 1_000_000
    assert peak < whole / 50
