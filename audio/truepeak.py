"""True peak (ITU-R BS.1770-4 Annex 2): the peak of the signal oversampled by interpolation.

Oversampling is 4x at 44.1/48 kHz as the standard asks, and more at lower rates (at least
176.4 kHz after oversampling), because intersample peaks of an 8 kHz phone recording would
otherwise be under-read. The interpolator is a Kaiser-windowed sinc, 16 taps per phase.

Speed: the interpolated values between samples ``m`` and ``m+1`` are at most ``S·max|x|`` over
the 16 samples the taps reach (``S`` is the largest sum of absolute tap values of one phase),
so only 16-sample blocks near a level that matters are interpolated; for speech that is a
few per cent of the signal. A constant-amplitude tone interpolates everything, in chunks.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.signal as ss

from audio.samples import as_frames, as_mono, check_finite, check_rate

_TAPS_PER_PHASE = 16
_SEG = 40  # samples of context per block of 16: x[16b - 8 .. 16b + 31]


def oversampling_factor(sr: int) -> int:
    """4 at 44.1 kHz and above (BS.1770-4), more below so the interpolated rate is ≥ 176.4 kHz."""
    return max(4, math.ceil(176400 / check_rate(sr)))


@lru_cache(maxsize=16)
def _phases(factor: int) -> tuple[np.ndarray, float]:
    """Block interpolation matrix ``(40, 16·factor)`` and the worst-case phase gain ``S``.

    Row ``s`` of a block's context segment ``xp[16b + s]`` (``xp`` = x with 16 zeros in front)
    maps to column ``r·factor + p``: the ``p``-th of ``factor`` points in the interval
    ``[m, m+1)`` of sample ``m = 16b + r``. One matrix product per chunk of blocks (BLAS)
    replaces a polyphase loop.
    """
    n = factor * _TAPS_PER_PHASE
    h = ss.firwin(n, 1.0 / factor, window=("kaiser", 7.0)) * factor
    # phase p, tap j: h[p + j*factor] multiplies x[m + 8 - j]
    taps = h.reshape(_TAPS_PER_PHASE, factor)
    gain = float(np.abs(taps).sum(axis=0).max())
    mat = np.zeros((_SEG, _TAPS_PER_PHASE * factor), dtype=np.float32)
    for r in range(_TAPS_PER_PHASE):
        for j in range(_TAPS_PER_PHASE):
            mat[r + 24 - j, r * factor : (r + 1) * factor] = taps[j]
    mat.setflags(write=False)
    return mat, gain


def _interp_max(xp: np.ndarray, blocks: np.ndarray, mat: np.ndarray, factor: int) -> np.ndarray:
    """Largest interpolated magnitude in ``[m, m+1)`` for every sample of the given blocks,
    shape ``(len(blocks), 16)``."""
    view = np.lib.stride_tricks.sliding_window_view(xp, _SEG)[::_TAPS_PER_PHASE]
    out = np.empty((blocks.size, _TAPS_PER_PHASE), dtype=np.float32)
    step = 8192
    for start in range(0, blocks.size, step):
        seg = view[blocks[start : start + step]]
        up = np.abs(seg @ mat).reshape(-1, _TAPS_PER_PHASE, factor)
        out[start : start + step] = up.max(axis=2)
    return out


def _block_max(a: np.ndarray, block: int) -> np.ndarray:
    """Maximum of ``a`` over consecutive blocks of ``block`` samples (last one partial)."""
    nb = -(-a.size // block)
    padded = np.zeros(nb * block, dtype=a.dtype)
    padded[: a.size] = a
    return np.asarray(padded.reshape(nb, block).max(axis=1))


def true_peak_envelope(x: np.ndarray, sr: int, *, threshold: float = 0.0) -> np.ndarray:
    """Per-sample peak magnitude ``env[m] = max(|x[m]|, max |x(t)|, m < t < m+1)``.

    Exact (to the interpolator's accuracy) wherever it could exceed ``threshold``; elsewhere
    it is ``|x[m]|``, which is then known to be below ``threshold`` too. Mono ``(n,)`` float32 in,
    ``(n,)`` float32 out.
    """
    y = as_mono(x)
    factor = oversampling_factor(sr)
    mat, gain = _phases(factor)
    block = _TAPS_PER_PHASE
    nb = -(-y.size // block)
    env = np.zeros(nb * block, dtype=np.float32)
    np.abs(y, out=env[: y.size])
    if y.size == 0:
        return env
    rows = env.reshape(nb, block)
    # interval [m, m+1) uses x[m-7 .. m+8]: the block of m and its two neighbours bound it
    bmax = rows.max(axis=1)
    reach = bmax.copy()
    reach[1:] = np.maximum(reach[1:], bmax[:-1])
    reach[:-1] = np.maximum(reach[:-1], bmax[1:])
    blocks = np.flatnonzero(reach * np.float32(gain) > np.float32(threshold))
    if blocks.size:
        xp = np.zeros((nb + 1) * block + _SEG, dtype=np.float32)
        xp[block : block + y.size] = y
        rows[blocks] = np.maximum(rows[blocks], _interp_max(xp, blocks, mat, factor))
    return env[: y.size]


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
    """True peak in dBTP; ``-inf`` if silent. Mono ``(n,)`` or multichannel ``(n, channels)``;
    NaN/inf samples are an error."""
    frames = as_frames(x)
    check_finite(frames)
    tp = true_peak(frames, sr)
    return float(20.0 * np.log10(tp)) if tp > 0 else float("-inf")
