"""Live input: any file PyAV reads, or raw PCM on a pipe, as 48 kHz mono float32 blocks."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest

from audio.errors import UnsupportedFormatError
from audio.live_source import decode_live


def tone(rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")


def test_a_file_at_any_rate_comes_out_at_48_khz_mono(tmp_path: Path):
    path = tmp_path / "stereo-16k.wav"
    pcm = tone(16000, 1.0)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.repeat(pcm, 2).tobytes())
    y = np.concatenate(list(decode_live(path)))
    assert y.dtype == np.float32
    assert abs(len(y) - 48000) < 480
    # FFmpeg's downmix of two equal channels is +3 dB (its pan law); the live chain levels it
    assert 0.65 < np.max(np.abs(y)) < 0.75


def test_raw_pcm_on_a_pipe_is_read_at_the_rate_given():
    pcm = tone(8000, 0.5)
    y = np.concatenate(list(decode_live(io.BytesIO(pcm.tobytes()), raw=True, raw_rate=8000)))
    assert abs(len(y) - 24000) < 480


def test_what_is_not_audio_is_refused(tmp_path: Path):
    junk = tmp_path / "notes.txt"
    junk.write_text("không phải âm thanh " * 100)
    with pytest.raises(UnsupportedFormatError):
        list(decode_live(junk))
