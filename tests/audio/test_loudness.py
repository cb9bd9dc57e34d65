"""The meter against EBU Tech 3341 / 3342 and BS.1770-4, on synthesised reference signals."""

from __future__ import annotations

import numpy as np
import pytest

from audio.errors import AudioError
from audio.filters import k_weighting_sos
from audio.fir import kaiser_lowpass
from audio.loudness import (
    integrated_loudness,
    loudness_range,
    measure,
    momentary_loudness,
    momentary_max,
    short_term_loudness,
    short_term_max,
)
from audio.truepeak import oversampling_factor, true_peak_db, true_peak_envelope

SR = 48000


def sine(dbfs: float, seconds: float, *, sr: int = SR, freq: float = 1000.0, channels: int = 2):
    """``(n, channels)`` sine, peak level ``dbfs`` in every channel (EBU test signals)."""
    t = np.arange(round(seconds * sr)) / sr
    s = (10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(s[:, None], channels, axis=1)


def seq(*parts: tuple[float, float]) -> np.ndarray:
    return np.concatenate([sine(db, secs) for db, secs in parts])


def test_k_weighting_reproduces_bs1770_table_at_48k() -> None:
    ref = np.array(
        [
            [
                1.53512485958697,
                -2.69169618940638,
                1.19839281085285,
                1,
                -1.69065929318241,
                0.73248077421585,
            ],
            [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
        ]
    )
    np.testing.assert_allclose(k_weighting_sos(48000), ref, atol=1e-12)


@pytest.mark.parametrize(
    ("case", "signal", "expected"),
    [
        (1, lambda: seq((-23, 20)), -23.0),
        (2, lambda: seq((-33, 20)), -33.0),
        (3, lambda: seq((-36, 10), (-23, 60), (-36, 10)), -23.0),
        (4, lambda: seq((-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)), -23.0),
        (5, lambda: seq((-26, 20), (-20, 20.1), (-26, 20)), -23.0),
    ],
)
def test_tech3341_integrated(case: int, signal, expected: float) -> None:
    assert integrated_loudness(signal(), SR) == pytest.approx(expected, abs=0.1), case


def test_tech3341_case6_five_channels() -> None:
    lr = sine(-28, 20, channels=1)[:, 0]
    c = sine(-24, 20, channels=1)[:, 0]
    surround = sine(-30, 20, channels=1)[:, 0]
    x = np.stack([lr, lr, c, surround, surround], axis=1)  # L, R, C, Ls, Rs
    assert integrated_loudness(x, SR) == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (((-20, 20), (-30, 20)), 10.0),
        (((-20, 20), (-15, 20)), 5.0),
        (((-40, 20), (-20, 20)), 20.0),
        (((-50, 20), (-35, 20), (-20, 20), (-35, 20), (-50, 20)), 15.0),
    ],
)
def test_tech3342_loudness_range(parts, expected: float) -> None:
    assert loudness_range(seq(*parts), SR) == pytest.approx(expected, abs=1.0)


@pytest.mark.parametrize("sr", [8000, 16000, 44100, 48000])
def test_997hz_full_scale_sine_reads_minus_3_01_at_every_rate(sr: int) -> None:
    x = sine(0.0, 5, sr=sr, freq=997.0, channels=1)[:, 0]
    assert integrated_loudness(x, sr) == pytest.approx(-3.01, abs=0.05)


def test_momentary_and_short_term_of_a_steady_tone() -> None:
    x = sine(-23, 10)
    assert momentary_max(x, SR) == pytest.approx(-23.0, abs=0.1)
    assert short_term_max(x, SR) == pytest.approx(-23.0, abs=0.1)
    m = momentary_loudness(x, SR)
    assert m.size == 97  # 400 ms blocks every 100 ms in 10 s
    np.testing.assert_allclose(m, -23.0, atol=0.1)
    assert short_term_loudness(x, SR).size == 71


def test_momentary_max_finds_a_short_burst() -> None:
    # Tech 3341 case 11-like: a 0.4 s burst at -20 dBFS amid -40 dBFS tone
    x = np.concatenate([sine(-40, 3), sine(-20, 0.4), sine(-40, 3)])
    assert momentary_max(x, SR) == pytest.approx(-20.0, abs=0.2)


def test_multichannel_and_mono_shapes_agree() -> None:
    mono = sine(-20, 5, channels=1)
    assert integrated_loudness(mono[:, 0], SR) == pytest.approx(integrated_loudness(mono, SR))
    # two identical channels sum their power: +3.01 LU
    stereo = np.repeat(mono, 2, axis=1)
    assert integrated_loudness(stereo, SR) - integrated_loudness(mono, SR) == pytest.approx(
        3.01, abs=0.01
    )


def test_transposed_input_is_refused() -> None:
    with pytest.raises(AudioError, match="channels"):
        integrated_loudness(np.zeros((2, 48000), dtype=np.float32), SR)


def test_nan_input_is_refused() -> None:
    x = sine(-20, 1, channels=1)[:, 0]
    x[100] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        integrated_loudness(x, SR)
    with pytest.raises(AudioError, match="NaN"):
        true_peak_db(x, SR)


def test_silence_and_short_input() -> None:
    assert integrated_loudness(np.zeros(SR, dtype=np.float32), SR) == float("-inf")
    assert loudness_range(np.zeros(SR, dtype=np.float32), SR) == 0.0
    assert true_peak_db(np.zeros(10, dtype=np.float32), SR) == float("-inf")
    short = sine(-20, 0.3, channels=1)[:, 0]  # shorter than one 400 ms block
    assert integrated_loudness(short, SR) == pytest.approx(-20 - 3.01, abs=0.1)
    assert loudness_range(short, SR) == 0.0
    assert integrated_loudness(np.zeros(0, dtype=np.float32), SR) == float("-inf")


def faded_sine(freq: float, phase_deg: float, sr: int, peak_db: float) -> np.ndarray:
    t = np.arange(sr) / sr
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.05)
    amp = 10 ** (peak_db / 20)
    wave = amp * fade * np.sin(2 * np.pi * freq * t + np.deg2rad(phase_deg))
    return np.asarray(wave, dtype=np.float32)


@pytest.mark.parametrize("sr", [48000, 44100, 16000, 8000])
@pytest.mark.parametrize("phase", [0.0, 45.0, 60.0, 67.5])
@pytest.mark.parametrize("freq_share", [0.25, 0.125, 0.4])
def test_true_peak_of_intersample_peaks(sr: int, phase: float, freq_share: float) -> None:
    # Tech 3341 cases 15-18: a sine at fs/4 sampled off its crests, true peak -6 dBTP
    x = faded_sine(sr * freq_share, phase, sr, -6.0)
    tp = true_peak_db(x, sr)
    assert -6.4 <= tp <= -5.8
    assert tp >= 20 * np.log10(np.abs(x).max()) - 1e-6


def test_true_peak_above_full_scale() -> None:
    # Tech 3341 cases 19-20-like: samples at -3 dBFS, waveform peaks at 0 dBTP
    x = faded_sine(12000.0, 45.0, SR, 0.0)
    assert 20 * np.log10(np.abs(x).max()) == pytest.approx(-3.01, abs=0.02)
    assert -0.4 <= true_peak_db(x, SR) <= 0.2


def test_measure_bundles_everything() -> None:
    x = seq((-26, 20), (-20, 20.1), (-26, 20))
    stats = measure(x, SR)
    assert stats.integrated == pytest.approx(-23.0, abs=0.1)
    assert stats.true_peak_db == pytest.approx(-20.0, abs=0.05)
    assert stats.sample_peak_db <= stats.true_peak_db + 1e-6
    assert stats.short_term_max == pytest.approx(-20.0, abs=0.1)  # two channels at -23.01 each


@pytest.mark.parametrize("sr", [48000, 16000])
@pytest.mark.parametrize("n", [1, 7, 16, 23, 24, 40, 1001])
def test_true_peak_envelope_is_the_polyphase_interpolation_up_to_the_ends(sr: int, n: int) -> None:
    """Every sample's interval ``[m, m+1)``, the first and last ones included (the blocks near
    the ends gather their context with zeros outside the signal, the others straight from it),
    against the interpolation written out tap by tap."""
    factor = oversampling_factor(sr)
    taps = (kaiser_lowpass(16 * factor, 1.0 / factor, 7.0) * factor).reshape(16, factor)
    x = np.random.default_rng(n).uniform(-1.0, 1.0, n).astype(np.float32)
    padded = np.concatenate([np.zeros(16), x.astype(np.float64), np.zeros(16)])
    # phase p of interval m: sum over taps j of taps[j, p] * x[m + 8 - j]
    ref = np.abs(x).astype(np.float64)
    for m in range(n):
        window = padded[16 + m + 8 - np.arange(16)]
        ref[m] = max(ref[m], float(np.abs(window @ taps).max()))
    env = true_peak_envelope(x, sr, threshold=0.0)
    np.testing.assert_allclose(env, ref, rtol=1e-5, atol=1e-6)
