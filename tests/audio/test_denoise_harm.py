"""Do no harm (:mod:`audio.light_touch`), on real (espeak-ng) speech: a clean-ish recording keeps
its intelligibility through the denoiser, and a windy one is not made worse."""

from __future__ import annotations

import numpy as np
import pytest
from pesq import pesq
from pystoi import stoi
from scipy import ndimage

from audio import light_touch, wind
from audio.denoise import denoise
from bench.corpus_wide import noise
from tests.audio.test_denoise import rms, white

SR = 16000
# The smoothing of the noisy segments everywhere: what the denoiser did before the light touch.
HEAVY = {"alpha_light": 0.92, "light_snr_lo_db": 100.0, "light_snr_hi_db": 100.0}


@pytest.fixture(scope="module")
def clean_ish(speech16: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The speech and the speech in white noise 20 dB below it."""
    s = speech16.astype(np.float32)
    return s, s + white(s.shape[0], rms(s) / 10.0)


def test_a_clean_ish_recording_keeps_its_intelligibility(
    clean_ish: tuple[np.ndarray, np.ndarray],
) -> None:
    s, x = clean_ish
    noisy = stoi(s, x, SR)
    # Measured: noisy 0.9805, light touch 0.9811, the heavy smoothing 0.9764.
    assert stoi(s, denoise(x, SR), SR) >= noisy - 0.001
    assert stoi(s, denoise(x, SR, **HEAVY), SR) < noisy - 0.002


def test_the_noise_is_still_removed_under_the_light_touch(
    clean_ish: tuple[np.ndarray, np.ndarray],
) -> None:
    s, x = clean_ish
    y = denoise(x, SR)
    level = ndimage.uniform_filter1d(s.astype(np.float64) ** 2, SR // 50)
    pauses = level < 1e-5 * level.max()
    assert pauses.mean() > 0.1
    assert rms(y[pauses]) < 0.15 * rms(x[pauses])  # measured 0.09: 21 dB down


def test_smoothing_follows_the_segment_snr() -> None:
    noisy = light_touch.smoothing(0.0, 0.92, 0.8, (10.0, 20.0))
    clean = light_touch.smoothing(30.0, 0.92, 0.8, (10.0, 20.0))
    half = light_touch.smoothing(15.0, 0.92, 0.8, (10.0, 20.0))
    assert (noisy.alpha, noisy.cepstral_weight) == (0.92, light_touch.CEPSTRAL_WEIGHT)
    assert (clean.alpha, clean.cepstral_weight) == (0.8, 0.0)
    assert half.alpha == pytest.approx(0.86)
    assert half.cepstral_weight == pytest.approx(light_touch.CEPSTRAL_WEIGHT / 2)


def test_segment_snr_is_read_blindly() -> None:
    lam = np.ones((10, 4), np.float32)
    assert light_touch.segmental_snr_db(11.0 * lam, lam) == pytest.approx(10.0)
    assert light_touch.segmental_snr_db(0.5 * lam, lam) == -100.0
    assert light_touch.segmental_snr_db(lam, 0.0 * lam) == 100.0


def test_bad_light_touch_tuning_is_rejected() -> None:
    x = np.zeros(SR, np.float32)
    with pytest.raises(ValueError, match="alpha"):
        denoise(x, SR, alpha_light=1.0)
    with pytest.raises(ValueError, match="light_snr_hi_db"):
        denoise(x, SR, light_snr_lo_db=20.0, light_snr_hi_db=10.0)


def test_a_windy_recording_is_never_made_worse(speech16: np.ndarray) -> None:
    """Gusts the noise tracker cannot follow: the suppressor's floor rises, and the recording
    scores above the untouched input; with the floor of steady noise it scored below."""
    s = speech16.astype(np.float32)
    gusts = noise("wind", s.shape[0], 1)
    x = (s + gusts * np.float32(rms(s) / rms(gusts))).astype(np.float32)  # 0 dB SNR
    noisy = pesq(SR, s, x, "wb")
    # Measured: noisy 1.31, gusty floor 1.41, the steady noise's floor 1.27.
    assert pesq(SR, s, denoise(x, SR), "wb") >= noisy + 0.05
    assert pesq(SR, s, denoise(x, SR, gusty_floor_db=-28.0), "wb") < noisy


def test_the_floor_rises_with_the_share_of_gusts() -> None:
    assert light_touch.gusty_floor_db(0.0, -28.0, -15.0) == -28.0
    assert light_touch.gusty_floor_db(0.5, -28.0, -15.0) == -15.0
    assert -28.0 < light_touch.gusty_floor_db(0.07, -28.0, -15.0) < -15.0
    assert light_touch.gusty_floor_db(0.5, -10.0, -15.0) == -10.0  # never deeper than asked
    steady = np.ones((50, 20), np.float32)
    assert wind.gusty_share(steady) == 0.0
    steady[:10] = 0.5
    assert wind.gusty_share(steady) == pytest.approx(0.2)
