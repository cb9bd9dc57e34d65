"""Measurements for the processing report: noise floor, SNR, clipping, and a signal's figures
(:func:`describe`). Mono ``(n,)``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from audio.loudness import LoudnessStats, measure
from audio.report import SignalReport
from audio.samples import as_mono, check_rate

SILENT_DB = -120.0


def frame_levels_db(x: np.ndarray, sr: int, *, frame_s: float = 0.02) -> tuple[np.ndarray, int]:
    """RMS level in dBFS of consecutive frames (last partial frame dropped), and the hop."""
    sr = check_rate(sr)
    y = as_mono(x)
    hop = max(1, round(frame_s * sr))
    n = y.size // hop
    if n == 0:
        return np.empty(0), hop
    frames = y[: n * hop].reshape(n, hop)
    ms = np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / hop
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(ms), hop


@dataclass(frozen=True)
class NoiseEstimate:
    """Background level (10th percentile of 20 ms frame levels), speech level (95th), and their
    difference, in dBFS / dB. Digital silence reads as -120 dBFS."""

    noise_floor_dbfs: float
    speech_level_dbfs: float
    snr_db: float


def estimate_noise(x: np.ndarray, sr: int) -> NoiseEstimate:
    """Estimate noise floor and SNR from the level distribution of 20 ms frames."""
    levels, _ = frame_levels_db(x, sr)
    return noise_from_levels(levels)


def noise_from_levels(levels: np.ndarray) -> NoiseEstimate:
    """:func:`estimate_noise` from the 20 ms frame levels (dBFS) of :func:`frame_levels_db`."""
    if levels.size == 0:
        return NoiseEstimate(SILENT_DB, SILENT_DB, 0.0)
    levels = np.maximum(levels, SILENT_DB)
    floor = float(np.percentile(levels, 10))
    speech = float(np.percentile(levels, 95))
    return NoiseEstimate(round(floor, 2), round(speech, 2), round(speech - floor, 2))


def clipped_share(x: np.ndarray) -> float:
    """Share of samples that sit on a clipped flat top.

    A sample counts when it is within 0.1 % of the recording's peak, the peak is above −6 dBFS,
    and it belongs to a run of at least three such samples (a smooth waveform rarely stays that
    close to its peak for three samples; a clipped one does).
    """
    y = as_mono(x)
    if y.size == 0:
        return 0.0
    peak = float(max(y.max(), -y.min()))
    if peak < 0.5:
        return 0.0
    flagged_count = 0
    step = 1 << 20  # in chunks (2 samples of context each side): no full-length copies
    for lo in range(0, y.size, step):
        hi = min(lo + step, y.size)
        a0 = max(0, lo - 2)
        near = np.abs(y[a0 : min(y.size, hi + 2)]) >= peak * 0.999
        run3 = near[:-2] & near[1:-1] & near[2:]
        flagged = np.zeros(near.size, dtype=bool)
        flagged[:-2] |= run3
        flagged[1:-1] |= run3
        flagged[2:] |= run3
        flagged_count += int(np.count_nonzero(flagged[lo - a0 : lo - a0 + hi - lo]))
    return float(flagged_count / y.size)


def finite_or_none(value: float, digits: int = 2) -> float | None:
    """``round(value, digits)``, or ``None`` for NaN/±inf."""
    return round(float(value), digits) if math.isfinite(value) else None


def describe(x: np.ndarray, sr: int) -> SignalReport:
    """Measure mono ``x`` for the report."""
    return signal_report(x.size, sr, measure(x, sr), estimate_noise(x, sr), clipped_share(x))


def signal_report(
    n: int, sr: int, stats: LoudnessStats, noise: NoiseEstimate, clipped: float
) -> SignalReport:
    """The report's figures of a signal of ``n`` samples from its measurements."""
    return SignalReport(
        duration_s=round(n / sr, 3),
        sample_rate=sr,
        integrated_lufs=finite_or_none(stats.integrated),
        loudness_range_lu=round(stats.loudness_range, 2),
        true_peak_dbtp=finite_or_none(stats.true_peak_db),
        momentary_max_lufs=finite_or_none(stats.momentary_max),
        short_term_max_lufs=finite_or_none(stats.short_term_max),
        noise_floor_dbfs=noise.noise_floor_dbfs,
        snr_db=noise.snr_db,
        clipped_share=round(clipped, 5),
    )
