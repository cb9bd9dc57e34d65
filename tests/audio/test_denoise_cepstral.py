"""Tests of the cepstro-temporally smoothed a priori SNR (:mod:`audio.cepstral_snr`)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from audio import cepstral_snr

K = 257  # single bins of a 512-point frame
QUEFRENCY_HZ = 16000.0  # 31.25 Hz bins


def test_noise_alone_loses_its_isolated_peaks() -> None:
    # gamma of noise alone is exponential: the ML estimate gamma - 1 exceeds 0 dB in 13.5 %
    # of the bins (musical noise); the smoothed estimate almost never
    gamma = np.random.default_rng(0).exponential(size=(400, K)).astype(np.float32)
    log_xi = cepstral_snr.log_snr(gamma, QUEFRENCY_HZ)
    assert log_xi.shape == gamma.shape
    assert np.mean(gamma - 1.0 > 1.0) > 0.13
    assert np.mean(log_xi > 0.0) < 0.01  # measured: 0.00005


def _gliding_harmonics() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    """Noise alone (gamma), with harmonics 13 dB above it in the first 64 frames whose pitch
    glides from 120 to 180 Hz: too fast for the strong smoothing to follow."""
    rng = np.random.default_rng(1)
    gamma = rng.exponential(size=(128, K)).astype(np.float32)
    f0 = np.linspace(120.0, 180.0, 64)[:, None]
    comb = (1.0 + np.cos(2 * np.pi * np.arange(K)[None, :] * 31.25 / f0)) / 2.0
    gamma[:64] += (20.0 * comb**8).astype(np.float32)
    return gamma, comb


def _harmonic_contrast_db() -> float:
    gamma, comb = _gliding_harmonics()
    xi = np.exp(cepstral_snr.log_snr(gamma, QUEFRENCY_HZ))[8:56]
    comb = comb[8:56]
    return float(10 * np.log10(np.mean(xi[comb > 0.9]) / np.mean(xi[comb < 0.1])))


def test_harmonics_of_voiced_frames_survive(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _harmonic_contrast_db() > 20.0  # measured: 30.7 dB
    monkeypatch.setattr(cepstral_snr, "_PITCH_THRESHOLD", np.inf)  # no frame counts as voiced
    assert _harmonic_contrast_db() < 12.0  # measured: 7.7 dB


def test_noise_after_speech_returns_to_a_low_estimate() -> None:
    gamma, _ = _gliding_harmonics()
    xi = np.exp(cepstral_snr.log_snr(gamma, QUEFRENCY_HZ))
    assert 10 * np.log10(np.mean(xi[80:120])) < -8.0  # measured: -14.5 dB
