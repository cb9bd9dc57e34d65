"""Limiter, compressor, leveller, filters, trim, resampling and encoding units."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audio.chain import prepare
from audio.config import PipelineConfig
from audio.decode import decode_file
from audio.dynamics import compress, level, limit_true_peak
from audio.encode import write_audio
from audio.errors import AudioError, UnsupportedFormatError
from audio.filters import highpass, highpass_zero_phase, remove_dc
from audio.loudness import integrated_loudness, loudness_range
from audio.resample import resample
from audio.samples import as_mono
from audio.trim import find_speech_bounds, trim_silence
from audio.truepeak import true_peak_db

SR = 16000


def noise_bursts(seed: int, sr: int = SR) -> np.ndarray:
    """Bursty, peaky test signal: filtered noise with random level jumps (peaks up to +20 dBFS)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(sr * 4)
    env = np.repeat(10 ** (rng.uniform(-30, 10, 40) / 20), sr // 10)
    return (0.5 * x * env).astype(np.float32)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ceiling", [-1.0, -3.0])
def test_limiter_holds_the_true_peak_ceiling(seed: int, ceiling: float) -> None:
    x = noise_bursts(seed)
    assert true_peak_db(x, SR) > ceiling + 6
    y = limit_true_peak(x, SR, ceiling_db=ceiling)
    assert true_peak_db(y, SR) <= ceiling + 1e-3
    assert y.shape == x.shape
    assert y.dtype == np.float32
    # quiet parts are left alone
    quiet = np.abs(x) < 10 ** ((ceiling - 20) / 20)
    assert np.mean(np.isclose(x[quiet], y[quiet], rtol=1e-3)) > 0.3


def test_limiter_leaves_signals_under_the_ceiling_untouched() -> None:
    x = noise_bursts(9) * np.float32(0.01)
    np.testing.assert_array_equal(limit_true_peak(x, SR, ceiling_db=-1.0), x)


def test_limiter_catches_intersample_peaks() -> None:
    t = np.arange(SR) / SR
    x = (np.sin(2 * np.pi * SR / 4 * t + np.pi / 4)).astype(np.float32)  # samples ±0.707
    y = limit_true_peak(x, SR, ceiling_db=-1.0)
    assert true_peak_db(y, SR) <= -1.0 + 1e-3


def test_compressor_reduces_loud_passages_only() -> None:
    t = np.arange(SR * 4) / SR
    amp = np.where(t < 2, 0.05, 0.5).astype(np.float32)
    x = (amp * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    y = compress(x, SR, threshold_db=-20.0, ratio=4.0, knee_db=0.0)
    assert np.abs(y[SR : 2 * SR]).max() == pytest.approx(0.05, rel=0.01)
    # -6 dBFS is 14 dB over: 4:1 leaves 3.5 dB over → -16.5 dBFS
    assert 20 * np.log10(np.abs(y[3 * SR :]).max()) == pytest.approx(-16.5, abs=0.3)
    with pytest.raises(ValueError, match="ratio"):
        compress(x, SR, ratio=0.5)


def test_leveller_evens_out_quiet_and_loud_speech() -> None:
    rng = np.random.default_rng(3)
    # speech-like: 300 ms bursts of noise with gaps; second half 14 dB quieter
    env = np.tile(np.r_[np.ones(int(0.3 * SR)), np.zeros(int(0.2 * SR))], 20)
    x = (rng.standard_normal(env.size) * env * 0.1).astype(np.float32)
    x[x.size // 2 :] *= np.float32(10 ** (-14 / 20))
    y = level(x, SR, strength=0.6)
    assert loudness_range(y, SR) < loudness_range(x, SR) - 4
    # the gaps are not pumped up: silence stays silence
    assert np.abs(y[env == 0]).max() == 0.0


def test_highpass_removes_dc_and_rumble() -> None:
    t = np.arange(SR * 2) / SR
    speech_band = np.sin(2 * np.pi * 1000 * t)
    x = (0.3 + 0.3 * np.sin(2 * np.pi * 20 * t) + 0.3 * speech_band).astype(np.float32)
    y = highpass(remove_dc(x, SR), SR, cutoff_hz=80.0)
    tail = y[SR:]
    assert abs(float(tail.mean())) < 1e-3
    np.testing.assert_allclose(np.abs(tail).max(), 0.3, rtol=0.02)  # 20 Hz gone, 1 kHz kept
    assert np.abs(y[:100]).max() < 0.35  # no start-up click from the offset


def _voice_harmonics() -> np.ndarray:
    """Harmonics of a 200 Hz voice up to 2 kHz: all in the pass band, so only a phase shift
    can change the waveform."""
    t = np.arange(SR * 2) / SR
    harmonics = [np.cos(2 * np.pi * f * t) / k for k, f in enumerate(range(200, 2001, 200), 1)]
    return np.asarray(np.sum(harmonics, axis=0))


def test_zero_phase_highpass_keeps_the_voice_waveform_and_the_slope() -> None:
    x = _voice_harmonics().astype(np.float32)
    mid = slice(SR // 2, -SR // 2)
    err = np.sqrt(np.mean((highpass_zero_phase(x, SR)[mid] - x[mid]) ** 2) / np.mean(x[mid] ** 2))
    assert err < 0.02  # the causal filter's phase shift: 0.85
    t = np.arange(SR * 2) / SR
    for f, db in ((20.0, -40.6), (80.0, -3.0), (1000.0, 0.0)):
        s = np.sin(2 * np.pi * f * t).astype(np.float32)
        y = highpass_zero_phase(s, SR, cutoff_hz=80.0)
        got = 10 * np.log10(np.mean(y[mid] ** 2) / np.mean(s[mid] ** 2))
        assert got == pytest.approx(db, abs=0.2)


def test_the_offline_chain_high_passes_without_moving_the_voice() -> None:
    x = (0.1 * _voice_harmonics()).astype(np.float32)
    off = {"denoise": False, "trim": False, "level": False, "compress": False}
    y, steps, _, _ = prepare([x.copy()], SR, PipelineConfig(**off), None, p0=0.0, p1=1.0)
    assert steps == ["highpass"]
    mid = slice(SR // 2, -SR // 2)
    assert np.sqrt(np.mean((y[mid] - x[mid]) ** 2) / np.mean(x[mid] ** 2)) < 0.02


def test_a_short_word_in_a_long_silence_is_found_as_short() -> None:
    """0.2 s of voice between 2 s of denoised room noise whose level wanders by 12 dB: the
    voice is under 5 % of the frames, and the noise must not count as sound."""
    rng = np.random.default_rng(3)
    hop = SR // 100
    wander = np.repeat(10 ** (rng.uniform(-112, -100, 420) / 20), hop)
    x = (rng.standard_normal(420 * hop) * wander).astype(np.float32)
    t = np.arange(SR // 5) / SR
    x[2 * SR : 2 * SR + SR // 5] = 0.3 * np.sin(2 * np.pi * 300 * t)
    bounds = find_speech_bounds(x, SR)
    assert bounds is not None
    assert (bounds[1] - bounds[0]) / SR == pytest.approx(0.2, abs=0.02)


def test_trim_keeps_pads() -> None:
    x = np.zeros(SR * 6, dtype=np.float32)
    x[2 * SR : 4 * SR] = np.random.default_rng(0).standard_normal(2 * SR) * 0.1
    y, info = trim_silence(x, SR, pad_s=0.25, min_silence_s=0.5)
    assert info.start_s == pytest.approx(1.75, abs=0.02)
    assert info.end_s == pytest.approx(1.75, abs=0.02)
    assert y.size == pytest.approx(2.5 * SR, abs=0.03 * SR)
    short_pause = np.concatenate([np.zeros(SR // 5, dtype=np.float32), x[2 * SR : 4 * SR]])
    y2, info2 = trim_silence(short_pause, SR)
    assert info2.start_s == 0.0
    assert y2.size == short_pause.size


@pytest.mark.parametrize(("a", "b"), [(48000, 16000), (44100, 16000), (8000, 16000)])
def test_resample_preserves_level_and_length(a: int, b: int) -> None:
    t = np.arange(a * 3) / a
    x = (0.5 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)
    y = resample(x, a, b)
    assert y.size == -(-x.size * b // a)
    assert integrated_loudness(y, b) == pytest.approx(integrated_loudness(x, a), abs=0.02)


def test_shape_convention_is_enforced() -> None:
    with pytest.raises(AudioError, match=r"\(n,\)"):
        as_mono(np.zeros((100, 2), dtype=np.float32))
    assert as_mono(np.zeros((100, 1))).shape == (100,)
    assert as_mono(np.zeros(5, dtype=np.int16)).dtype == np.float32


@pytest.mark.parametrize("ext", ["ogg", "opus", "wav", "mp3"])
def test_write_audio_round_trip(tmp_path: Path, ext: str) -> None:
    t = np.arange(SR * 5) / SR
    x = (0.25 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    path = tmp_path / f"tone.{ext}"
    write_audio(path, x, SR)
    out = decode_file(path)
    assert out.duration_s == pytest.approx(5.0, abs=0.08)
    # low-rate MP3 (MPEG-2 at 16 kHz) reads ~0.45 dB low on a tone; process_file's
    # verify-and-correct pass absorbs this (test_pipeline checks the decoded MP3)
    tolerance = 0.6 if ext == "mp3" else 0.3
    assert integrated_loudness(out.samples, out.sample_rate) == pytest.approx(
        integrated_loudness(x, SR), abs=tolerance
    )
    assert not list(tmp_path.glob(".*part"))


def test_write_audio_refuses_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"\.ogg"):
        write_audio(tmp_path / "x.aiff", np.zeros(100, dtype=np.float32), SR)
    with pytest.raises(AudioError, match="NaN"):
        write_audio(tmp_path / "x.wav", np.full(100, np.nan, dtype=np.float32), SR)


@pytest.mark.parametrize("bitrate", [24000, 32000])
def test_opus_keeps_to_the_bitrate_asked_for(
    tmp_path: Path, speech16: np.ndarray, bitrate: int
) -> None:
    # libopus's VBR in 20 ms packets spent about 49 kbit/s on this speech when asked for 32
    path = tmp_path / "speech.ogg"
    x = speech16 * np.float32(0.5 / np.max(np.abs(speech16)))
    write_audio(path, x, 16000, bitrate=bitrate)
    kbps = path.stat().st_size * 8 / (x.size / 16000) / 1000
    assert kbps == pytest.approx(bitrate / 1000, rel=0.08)


def test_level_uses_given_hop_energies_as_its_own(speech16: np.ndarray) -> None:
    from audio.loudness import hop_energies

    x = speech16 * np.float32(np.linspace(0.2, 1.0, speech16.size))
    np.testing.assert_array_equal(level(x, 16000, hops=hop_energies(x, 16000)), level(x, 16000))
