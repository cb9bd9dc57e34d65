"""True peak (ITU-R BS.1770-4 Annex 2): the peak of the signal oversampled by interpolation.

Oversampling is 4x at 44.1/48 kHz as the standard asks, and more at lower rates (about 192 kHz
after oversampling), because intersample peaks of an 8 kHz phone recording would otherwise be
under-read. The interpolator is a Kaiser-windowed sinc, 16 taps per phase.

Speed: interpolated samples can only exceed a level ``t`` next to input samples within
``1/S`` of ``t`` (``S`` is the largest sum of absolute tap values of one phase), so only those
neighbourhoods are interpolated; for speech that is a few per cent of the samples. The
worst case (a constant-amplitude tone) interpolates everything, in bounded-memory chunks.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.ndimage as ndi
import scipy.signal as ss

from audio.samples import as_frames, as_mono, check_rate

_TAPS_PER_PHASE = 16
_CHUNK = 1 << 18


def oversampling_factor(sr: int) -> int:
    """4 at 44.1 kHz and above (BS.1770-4), more below so the interpolated rate is ≥ 176.4 kHz."""
    return max(4, math.ceil(176400 / check_rate(sr)))


@lru_cache(maxsize=16)
def _phases(factor: int) -> tuple[np.ndarray, float]:
    """Polyphase interpolator ``(taps_per_phase, factor)`` and its worst-case gain ``S``."""
    n = factor * _TAPS_PER_PHASE
    h = ss.firwin(n, 1.0 / factor, window=("kaiser", 7.0)) * factor
    # phase p, tap j: h[p + j*factor]; output u[k*factor + p] = sum_j h[p + j*factor] x[k - j]
    mat = np.ascontiguousarray(h.reshape(_TAPS_PER_PHASE, factor), dtype=np.float32)
    gain = float(np.abs(mat).sum(axis=0).max())
    mat.setflags(write=False)
    return mat, gain


def _interp_max(xp: np.ndarray, idx: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """Largest interpolated magnitude in each interval ``[m, m+1)`` for sample indices ``idx``.

    ``xp`` is the signal padded with ``_TAPS_PER_PHASE`` zeros at both ends.
    """
    half = _TAPS_PER_PHASE // 2
    out = np.empty(idx.size, dtype=np.float32)
    # interval m needs x[m - half + 1 .. m + half], newest first (tap j ↔ x[m + half - j])
    offs = (_TAPS_PER_PHASE + half) - np.arange(_TAPS_PER_PHASE)
    for start in range(0, idx.size, _CHUNK):
        sel = idx[start : start + _CHUNK]
        frames = xp[sel[:, None] + offs[None, :]]
        out[start : start + _CHUNK] = np.abs(frames @ mat).max(axis=1)
    return out


def true_peak_envelope(x: np.ndarray, sr: int, *, threshold: float = 0.0) -> np.ndarray:
    """Per-sample peak magnitude ``env[m] = max(|x[m]|, max |x(t)|, m < t < m+1)``.

    Exact (to the interpolator's accuracy) wherever it could exceed ``threshold``; elsewhere
    it is ``|x[m]|``, which is then known to be below ``threshold`` too. Mono ``(n,)`` float32 in,
    ``(n,)`` float32 out.
    """
    y = as_mono(x)
    factor = oversampling_factor(sr)
    mat, gain = _phases(factor)
    env = np.abs(y)
    if y.size == 0:
        return env
    # any interpolated value near m is at most gain * max|x| over the taps' reach
    reach = ndi.maximum_filter1d(env, size=_TAPS_PER_PHASE, origin=-1, mode="constant")
    idx = np.flatnonzero(reach * np.float32(gain) > np.float32(threshold))
    if idx.size:
        xp = np.pad(y, _TAPS_PER_PHASE)
        env[idx] = np.maximum(env[idx], _interp_max(xp, idx, mat))
    return env


def true_peak(x: np.ndarray, sr: int) -> float:
    """True peak as a linear amplitude (1.0 = full scale). Mono ``(n,)`` or ``(n, channels)``."""
    check_rate(sr)
    frames = as_frames(x)
    peak = 0.0
    for c in range(frames.shape[1]):
        ch = as_mono(frames[:, c])
        if ch.size == 0:
            continue
        sample_peak = float(np.abs(ch).max())
        if sample_peak == 0.0:
            continue
        env = true_peak_envelope(ch, sr, threshold=max(sample_peak, peak))
        peak = max(peak, float(env.max()))
    return peak


def true_peak_db(x: np.ndarray, sr: int) -> float:
    """True peak in dBTP (dB relative to full scale, of the oversampled signal); ``-inf`` if
    silent. Mono ``(n,)`` or multichannel ``(n, channels)``; NaN/inf samples are an error."""
    frames = as_frames(x)
    if not np.isfinite(frames).all():
        from audio.samples import check_finite

        check_finite(frames)
    tp = true_peak(frames, sr)
    return float(20.0 * np.log10(tp)) if tp > 0 else float("-inf")
