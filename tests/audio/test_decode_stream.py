"""Decoding block by block from any frame: the same samples as decoding whole, small blocks,
and the same refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audio import opus
from audio.decode import decode_file
from audio.decode_stream import SEEK_PREROLL_S, open_stream
from audio.errors import (
    AudioError,
    EmptyAudioError,
    TooLongAudioError,
    UnsupportedFormatError,
)
from tests.support.audio import write_wav

SR = 16000


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s in the controller's delivery format (Opus CBR, 60 ms packets)."""
    t = np.arange(20 * SR) / SR
    noise = np.random.default_rng(3).uniform(-0.1, 0.1, t.size)
    x = (0.3 * np.sin(2 * np.pi * (200 + 50 * t) * t) + noise).astype(np.float32)
    opts = opus.options(complexity=0, application="audio", frame_ms=60, vbr="off")
    path = tmp_path_factory.mktemp("stream") / "bulletin.ogg"
    opus.write(path, opus.encode(x, SR, bitrate=32000, opts=opts))
    return path


@pytest.mark.parametrize("start", [0, 7, 48000, 48001, 336_123, 911_999, 959_999])
def test_blocks_from_any_frame_equal_the_whole_decode(delivered: Path, start: int) -> None:
    whole = decode_file(delivered)
    with open_stream(delivered, start=start) as stream:
        assert stream.sample_rate == whole.sample_rate == 48000
        assert stream.frames is not None
        assert abs(stream.frames - whole.samples.size) < 0.05 * 48000  # as the container says
        blocks = list(stream)
    assert max(b.size for b in blocks) <= 48000 // 10  # a decoded frame, not the file
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    np.testing.assert_allclose(np.concatenate(blocks), whole.samples[start:], rtol=0, atol=1e-6)


def test_a_resume_seeks_rather_than_decoding_from_the_start(delivered: Path) -> None:
    start = 15 * 48000
    with open_stream(delivered, start=start) as stream:
        list(stream)
        decoded = stream.source.total_packets
    with open_stream(delivered) as stream:
        list(stream)
        everything = stream.source.total_packets
    # 5 s left plus the pre-roll and a page's worth of packets, not the 20 s of the file
    assert decoded < everything * (5 + SEEK_PREROLL_S + 2) / 20


def test_a_stereo_file_is_mixed_down(tmp_path: Path) -> None:
    left = np.linspace(-0.5, 0.5, 8000, dtype=np.float32)
    path = tmp_path / "stereo.wav"
    write_wav(str(path), np.stack([left, np.zeros_like(left)], axis=1), 8000)
    with open_stream(path) as stream:
        mixed = np.concatenate(list(stream))
    np.testing.assert_allclose(mixed, left / 2, rtol=0, atol=2 / 32768)


def test_refusals(tmp_path: Path, delivered: Path) -> None:
    empty = tmp_path / "empty.ogg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.ogg"
    text.write_text("not audio at all " * 100)
    corrupt = tmp_path / "corrupt.ogg"
    data = bytearray(delivered.read_bytes())
    data[200:] = bytes(len(data) - 200)  # headers kept, every audio page zeroed
    corrupt.write_bytes(bytes(data))
    with pytest.raises(EmptyAudioError, match="empty"):
        open_stream(empty)
    with pytest.raises(UnsupportedFormatError):
        open_stream(text)
    with pytest.raises(UnsupportedFormatError, match="no such file"):
        open_stream(tmp_path / "missing.ogg")
    with pytest.raises(AudioError):  # which one depends on what the zeros hit first
        open_stream(corrupt)
    with pytest.raises(TooLongAudioError, match="limit"):
        open_stream(delivered, max_seconds=10)
    with pytest.raises(EmptyAudioError, match="nothing to play from frame"):
        open_stream(delivered, start=30 * 48000)
