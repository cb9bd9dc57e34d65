"""Blind noise power spectral density tracking: no noise-only clip needed.

A vectorised, non-causal variant of minimum statistics (Martin 2001) refined by the
speech-presence-conditioned averaging of IMCRA (Cohen 2003). It runs on a coarse time grid
(about 32 ms steps) so that a 10-minute file costs a few array passes:

1. ``S``: periodogram ``|Y|^2`` averaged over a step of frames and smoothed over frequency with
   the window ``b = [1/4, 1/2, 1/4]`` (Cohen 2003 eq. 14) and over time (eq. 15, here a centred
   moving average because the whole recording is available).
2. ``S_min``: minimum of ``S`` over a centred window of about 3 s (Martin 2001 sec. III; longer
   than the paper's 1.5 s because offline we can afford the slower tracking, and clean speech
   then keeps its weak components; at the recording's ends the window is moved inside it rather
   than cut short), found through sub-windows of 256 ms (sec. III-C) and
   scaled by the bias compensation ``B_min`` (Martin 2001 eq. 17). ``B_min`` is measured on
   white Gaussian noise with the same settings instead of taken from the paper's approximation.
3. Noise-only weight ``w = clip((zeta_1 - S/(B_min S_min)) / (zeta_1 - zeta_0), 0, 1)``: the soft
   speech-absence indicator of IMCRA (Cohen 2003 eqs. 18 and 29) on the smoothed ratio.
4. ``lambda = beta * sum(w S) / sum(w)`` over a centred window: the conditional average of
   eq. 19/20, falling back to the minimum-statistics estimate where the window holds speech
   only, and ``beta`` (eq. 28) measured on white noise like ``B_min``.

The tracker's weight ``w`` doubles as the a priori speech-absence probability ``q`` of the
optimally-modified gain (Cohen & Berdugo 2001) that :mod:`audio.denoise` applies when asked
(``q_max > 0``; the neural option's mix does, the default gain does not).

Known limit: babble (many distant talkers) fluctuates like speech in every bin, so its
minimum lies far below its mean and the tracker underestimates it (12-14 dB on the
benchmark); :mod:`audio.denoise` therefore bounds the estimate from below by the mean
spectrum of the recording's quietest stretch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from audio import running
from audio.bands import BandLayout, band_power, layout_for
from audio.mono_input import check_mono_float32
from audio.samples import FloatArray
from audio.stft import StftGeometry, analyse, chunks, geometry_for, geometry_of, n_frames

#: Below every real recording's noise floor; keeps ratios finite on digital silence.
POWER_FLOOR = 1e-12
_CHUNK_FRAMES = 1024
_FREQ_WINDOW = np.array([0.25, 0.5, 0.25], np.float32)
_SUB = 8  # tracker steps per minimum-statistics sub-window (8 x 32 ms)


@dataclass(frozen=True)
class TrackerParams:
    """Time constants (seconds) and thresholds of the noise tracker."""

    step_s: float = 0.032
    smooth_s: float = 0.064
    min_window_s: float = 3.0
    average_window_s: float = 0.8
    zeta_0: float = 1.4
    zeta_1: float = 2.3
    fallback_weight: float = 0.05
    # Near the recording's start and end the minimum is taken over the first or last
    # min_window_s rather than over a centred window cut short by the edge. A cut window
    # holds as little as half the time: where a noise that comes and goes (a power tool) is
    # on through the last 1.5 s, it holds none of the quiet phase that every other window
    # holds, and the estimate stepped up by 20 dB in the middle of the loud phase. That step
    # in the gain is one in the output's band envelopes that neither the speech nor the input
    # has (tune split, tools at 0 dB, one talker, every variant: STOI 0.004-0.007 below the
    # input; BENCHMARKS, round ten). The whole window is also the one B_min is measured for.
    # Its cost: a noise that swells towards the end (traffic) is followed later there (held-out
    # traffic, PESQ-WB 0.02-0.09 less gained per SNR, STOI still above the input).
    whole_window_at_ends: bool = True


@dataclass(frozen=True)
class _Grid:
    step: int  # STFT frames per tracker step
    smooth: int  # tracker steps
    min_window: int
    average_window: int

    @property
    def context_frames(self) -> int:
        """STFT frames of context needed each side of a chunk."""
        reach = self.min_window // 2 + 2 * _SUB + self.average_window // 2 + self.smooth + 2
        return self.step * reach


def _grid(hop_s: float, p: TrackerParams) -> _Grid:
    step = max(1, round(p.step_s / hop_s))
    step_s = step * hop_s
    return _Grid(
        step=step,
        smooth=max(1, round(p.smooth_s / step_s)),
        min_window=max(3, round(p.min_window_s / step_s)),
        average_window=max(3, round(p.average_window_s / step_s)),
    )


def _smoothed(P: FloatArray, g: _Grid) -> FloatArray:
    """Step-averaged, frequency- and time-smoothed periodogram ``S`` on the coarse grid."""
    T = P.shape[0]
    Pd = P[:: g.step].copy()
    for r in range(1, g.step):
        part = P[r :: g.step]
        Pd[: part.shape[0]] += part
    Pd[: T // g.step] *= np.float32(1.0 / g.step)
    if T % g.step:
        Pd[-1] *= np.float32(1.0 / (T % g.step))
    S = running.correlate1d_symmetric(Pd, _FREQ_WINDOW, axis=1)
    if g.smooth > 1:
        S = running.uniform_filter1d(S, g.smooth, axis=0)
    out: FloatArray = np.maximum(S, np.float32(POWER_FLOOR))
    return out


@dataclass(frozen=True)
class _Bias:
    b_min: FloatArray  # per band: minimum statistics
    beta: FloatArray  # per band: conditional average


def _min_stat(S: FloatArray, g: _Grid, *, whole_at_ends: bool = False) -> FloatArray:
    """Minimum of ``S`` over about ``min_window`` steps around each step; with
    ``whole_at_ends``, over the first or last ``min_window`` steps of ``S`` where a centred
    window would reach past its start or end.

    As in Martin 2001 (sec. III-C), the window is split into sub-windows of ``_SUB`` steps:
    the minimum of each sub-window is taken once, then the minimum over neighbouring
    sub-windows, which costs a fraction of a sliding minimum over every step.
    """
    T = S.shape[0]
    n_sub = -(-T // _SUB)
    padded = np.empty((n_sub * _SUB, S.shape[1]), dtype=np.float32)
    padded[:T] = S
    padded[T:] = S[-1]
    sub = padded.reshape(n_sub, _SUB, S.shape[1]).min(axis=1)
    span = max(1, round(g.min_window / _SUB))
    found = running.minimum_filter1d(sub, span, axis=0)
    if whole_at_ends:
        # Where the centred window would reach past the recording's start or end, it is moved
        # inside it instead of shortened (TrackerParams.whole_window_at_ends); a recording
        # shorter than the window is one window.
        before, after = span // 2, span - 1 - span // 2
        if n_sub <= span:
            found[:] = sub.min(axis=0)
        else:
            found[:before] = sub[:span].min(axis=0)
            if after:
                found[n_sub - after :] = sub[n_sub - span :].min(axis=0)
    out: FloatArray = np.repeat(found, _SUB, axis=0)[:T]
    return out


def _soft_absence(ratio: FloatArray, lo: float, hi: float) -> FloatArray:
    """1 where ``ratio <= lo``, 0 where ``ratio >= hi``, linear between (Cohen 2003 eq. 29)."""
    w = (np.float32(hi) - ratio) / np.float32(hi - lo)
    np.clip(w, 0.0, 1.0, out=w)
    return w


def _conditional_mean(
    S: FloatArray, w: FloatArray, lam0: FloatArray, g: _Grid, p: TrackerParams
) -> FloatArray:
    """``sum(w S) / sum(w)`` over a centred window, shrunk towards ``lam0`` (Cohen 2003 eq. 19)."""
    eps = np.float32(p.fallback_weight)
    num: FloatArray = running.uniform_filter1d(w * S, g.average_window, axis=0)
    den = running.uniform_filter1d(w, g.average_window, axis=0)
    num += eps * lam0
    den += eps
    num /= den
    return num


def _track_coarse(
    P: FloatArray, g: _Grid, p: TrackerParams, bias: _Bias
) -> tuple[FloatArray, FloatArray]:
    S = _smoothed(P, g)
    lam0 = _min_stat(S, g, whole_at_ends=p.whole_window_at_ends)
    lam0 *= bias.b_min
    w = _soft_absence(S / lam0, p.zeta_0, p.zeta_1)
    lam = _conditional_mean(S, w, lam0, g, p)
    lam *= bias.beta
    return lam, w


def _per_class(ratio: npt.NDArray[np.float64], layout: BandLayout) -> FloatArray:
    """Average a per-band factor over the single bins and over the pooled bands separately."""
    out = np.empty(layout.n_bands, dtype=np.float32)
    out[: layout.split] = np.mean(ratio[: layout.split])
    if layout.n_bands > layout.split:
        out[layout.split :] = np.mean(ratio[layout.split :])
    return out


@lru_cache(maxsize=8)
def _bias(p: TrackerParams, sr: int, n_fft: int, overlap: int) -> _Bias:
    """Bias factors measured on 20 s of white Gaussian noise with the same settings."""
    geom = geometry_of(n_fft, overlap)
    layout = layout_for(geom.n_bins, sr / geom.n_fft)
    g = _grid(geom.hop / sr, p)
    x = np.random.default_rng(1234).standard_normal(sr * 20).astype(np.float32)
    P = band_power(analyse(x, geom, 0, n_frames(x.shape[0], geom)), layout)
    core = slice(g.min_window * g.step, -g.min_window * g.step)
    truth = np.mean(P[core], axis=0, dtype=np.float64)
    S = _smoothed(P, g)
    core_d = slice(g.min_window, -g.min_window)
    b_min = _per_class(truth / np.mean(_min_stat(S, g)[core_d], axis=0), layout)
    ones = np.ones(layout.n_bands, dtype=np.float32)
    lam, _ = _track_coarse(P, g, p, _Bias(b_min, ones))
    beta = _per_class(truth / np.mean(lam[core_d], axis=0), layout)
    return _Bias(b_min, beta)


def track_noise(
    P: FloatArray, geom: StftGeometry, sr: int, params: TrackerParams | None = None
) -> tuple[FloatArray, FloatArray]:
    """Noise PSD and a priori speech-absence probability, both shaped like ``P``.

    ``P`` is the band power (:func:`audio.bands.band_power`, frames x bands) of consecutive
    frames of the STFT ``geom`` at ``sr`` Hz, with the band layout of ``layout_for``.
    """
    p = params or TrackerParams()
    g = _grid(geom.hop / sr, p)
    bias = _bias(p, sr, geom.n_fft, geom.overlap)
    lam, w = _track_coarse(P, g, p, bias)
    n = P.shape[0]
    lam_full: FloatArray = np.repeat(lam, g.step, axis=0)[:n]
    w_full: FloatArray = np.repeat(w, g.step, axis=0)[:n]
    return lam_full, w_full


def context_frames(hop_s: float, params: TrackerParams | None = None) -> int:
    """STFT frames of context each side that :func:`track_noise` needs to equal a full pass."""
    return _grid(hop_s, params or TrackerParams()).context_frames


def alignment_frames(hop_s: float, params: TrackerParams | None = None) -> int:
    """Chunks must start on multiples of this many frames (tracker steps and sub-windows)."""
    return _grid(hop_s, params or TrackerParams()).step * _SUB


def _noise_and_total(x: np.ndarray, sr: int) -> tuple[float, float]:
    """Mean noise power and mean total power per sample (same units as ``mean(x**2)``)."""
    check_mono_float32(x, sr)
    geom = geometry_for(sr, 32.0, 2)
    layout = layout_for(geom.n_bins, sr / geom.n_fft)
    widths = np.ones(layout.n_bands)
    widths[layout.split : layout.split + layout.n_groups] = layout.group
    if layout.tail:
        widths[-1] = layout.tail
    total = n_frames(x.shape[0], geom)
    ctx = context_frames(geom.hop / sr)
    noise_sum = 0.0
    power_sum = 0.0
    for c in chunks(total, _CHUNK_FRAMES, ctx, alignment_frames(geom.hop / sr)):
        P = band_power(analyse(x, geom, c.ctx_first, c.ctx_stop), layout)
        lam, _ = track_noise(P, geom, sr)
        core = slice(c.first - c.ctx_first, c.stop - c.ctx_first)
        noise_sum += float(np.sum(lam[core] @ widths))
        power_sum += float(np.sum(P[core] @ widths))
    # Parseval with the WOLA window: sum over frames and bins of |Y|^2 (one-sided, counted once)
    # scales like n_fft / 2 per sample; the ratio below cancels the factor for the SNR and
    # _per_sample() restores it for the absolute level.
    return _per_sample(noise_sum, geom, x.shape[0]), _per_sample(power_sum, geom, x.shape[0])


def _per_sample(bin_sum: float, geom: StftGeometry, n: int) -> float:
    # A one-sided spectrum holds about half the energy in bins 1..N/2-1 counted once, and
    # sum_frames sum_n (w x)^2 = sum x^2 (w^2 overlaps to 1); Parseval: sum_k |X_k|^2 = N sum x^2
    # over the full spectrum, so the one-sided sum is about N/2 times the frame energy.
    return 2.0 * bin_sum / (geom.n_fft * max(n, 1))


def estimate_noise_floor_db(x: np.ndarray, sr: int) -> float:
    """Estimated noise power in dB relative to an RMS of 1.0 (dBFS RMS; a full-scale sine is
    -3 dB), averaged over the whole recording; -140 dB at the lowest (digital silence)."""
    noise, _ = _noise_and_total(x, sr)
    return float(10.0 * np.log10(max(noise, 1e-14)))


def estimate_snr_db(x: np.ndarray, sr: int) -> float:
    """Estimated global SNR in dB: (total - noise) power over noise power, clamped to ±100 dB."""
    noise, total = _noise_and_total(x, sr)
    speech = max(total - noise, 0.0)
    if speech <= 0.0:
        return -100.0
    if noise <= 1e-14:
        return 100.0
    return float(np.clip(10.0 * np.log10(speech / noise), -100.0, 100.0))
