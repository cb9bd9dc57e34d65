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

from audio.fir import BLOCK_MACS, kaiser_lowpass
from audio.samples import as_frames, as_mono, check_finite, check_rate

_TAPS_PER_PHASE = 16
_SEG = 31  # samples of context per block of 16: x[16b - 7 .. 16b + 23]
_FIRST = 7  # how far before its block a segment starts


def oversampling_factor(sr: int) -> int:
    """4 at 44.1 kHz and above (BS.1770-4), more below so the interpolated rate is ≥ 176.4 kHz."""
    return max(4, math.ceil(176400 / check_rate(sr)))


@lru_cache(maxsize=16)
def _phases(factor: int) -> tuple[np.ndarray, float]:
    """Block interpolation matrix ``(31, 16·factor)`` and the worst-case phase gain ``S``.

    Row ``s`` of a block's context segment ``x[16b - 7 + s]`` (zeros outside x) maps to column
    ``p·16 + r``: the ``p``-th of ``factor`` points in the interval ``[m, m+1)`` of sample
    ``m = 16b + r``. One matrix product per chunk of blocks (BLAS) replaces a polyphase loop.
    The segment holds exactly the samples some tap reaches (it had 9 more, always multiplied
    by zero rows: the products were a third larger for nothing).
    """
    n = factor * _TAPS_PER_PHASE
    h = kaiser_lowpass(n, 1.0 / factor, 7.0) * factor
    # phase p, tap j: h[p + j*factor] multiplies x[m + 8 - j]
    taps = h.reshape(_TAPS_PER_PHASE, factor)
    gain = float(np.abs(taps).sum(axis=0).max())
    mat = np.zeros((_SEG, _TAPS_PER_PHASE * factor), dtype=np.float32)
    for r in range(_TAPS_PER_PHASE):
        for j in range(_TAPS_PER_PHASE):
            mat[r + 15 - j, r::_TAPS_PER_PHASE] = taps[j]
    mat.setflags(write=False)
    return mat, gain


def _interp_max(y: np.ndarray, blocks: np.ndarray, mat: np.ndarray, factor: int) -> np.ndarray:
    """Largest interpolated magnitude in ``[m, m+1)`` for every sample of the given blocks,
    shape ``(len(blocks), 16)``.

    Block ``b``'s context segment is ``y[16b - 7 : 16b + 24]`` (zeros outside ``y``); it is
    gathered straight from ``y`` per chunk of blocks, so no padded copy of a long signal is
    made.
    """
    out = np.empty((blocks.size, _TAPS_PER_PHASE), dtype=np.float32)
    offsets = np.arange(_SEG, dtype=np.int64) - _FIRST
    # products small enough for OpenBLAS to keep on one thread (audio.fir): spread over
    # threads on a busy machine, a stream's many of them took three times as long
    step = max(1, BLOCK_MACS // (_SEG * mat.shape[1]))
    for start in range(0, blocks.size, step):
        part = blocks[start : start + step]
        idx = part[:, None].astype(np.int64) * _TAPS_PER_PHASE + offsets
        lo, hi = int(part.min()), int(part.max())
        if lo * _TAPS_PER_PHASE >= _FIRST and (hi + 1) * _TAPS_PER_PHASE + 8 <= y.size:
            seg = y[idx]  # all inside (most chunks): no clipping and masking of the indices
        else:
            inside = (idx >= 0) & (idx < y.size)
            seg = np.where(inside, y[np.clip(idx, 0, y.size - 1)], np.float32(0.0))
        up = np.abs(seg @ mat).reshape(-1, factor, _TAPS_PER_PHASE)
        # phase-major columns: the max over phases is an elementwise max of 16-wide slabs
        # (numpy reduces a short middle axis slowly; a loop over phases is 3x faster)
        acc = out[start : start + step]
        np.copyto(acc, up[:, 0, :])
        for p in range(1, factor):
            np.maximum(acc, up[:, p, :], out=acc)
    return out


def _row_max(rows: np.ndarray) -> np.ndarray:
    """``rows.max(axis=1)`` for a narrow 2-D array, as column-wise elementwise maxima."""
    out = rows[:, 0].copy()
    for j in range(1, rows.shape[1]):
        np.maximum(out, rows[:, j], out=out)
    return out


_COARSE = 256  # coarse blocks: a fast contiguous max finds where to look closer


def _candidate_blocks(y: np.ndarray, gain: float, threshold: float) -> np.ndarray:
    """Indices of 16-sample blocks whose interpolated values could exceed ``threshold``.

    Interval ``[m, m+1)`` uses ``x[m-7 .. m+8]``, so a block's bound is ``gain`` times the
    largest ``|x|`` in the block and its two neighbours. Found coarse-to-fine: 256-sample
    blocks first (a contiguous reduction), then 16-sample blocks inside the hits.
    """
    block = _TAPS_PER_PHASE
    ratio = _COARSE // block
    n_coarse = -(-y.size // _COARSE)
    full = (y.size // _COARSE) * _COARSE
    cmax = np.empty(n_coarse, dtype=np.float32)
    if full:  # a reshape of the signal itself: no copy of a long recording
        whole = y[:full].reshape(-1, _COARSE)
        cmax[: full // _COARSE] = np.maximum(whole.max(axis=1), -whole.min(axis=1))
    if full < y.size:
        cmax[-1] = np.abs(y[full:]).max()
    reach = cmax.copy()
    reach[1:] = np.maximum(reach[1:], cmax[:-1])
    reach[:-1] = np.maximum(reach[:-1], cmax[1:])
    hits = np.flatnonzero(reach * np.float32(gain) > np.float32(threshold))
    if hits.size == 0:
        return hits
    # the neighbours of a fine block may lie outside the gathered coarse blocks: bound them by
    # their coarse block's maximum, which is never smaller
    fine = np.repeat(cmax, ratio)
    step = 4096  # coarse blocks gathered at a time (4 MB): no copy of a long signal
    for start in range(0, hits.size, step):
        part = hits[start : start + step]
        rows = np.zeros((part.size, _COARSE), dtype=np.float32)
        inside = part < full // _COARSE
        if full:
            rows[inside] = y[:full].reshape(-1, _COARSE)[part[inside]]
        if not inside.all():  # only the last coarse block can be partial
            rows[~inside, : y.size - full] = y[full:]
        np.abs(rows, out=rows)
        smax = _row_max(rows.reshape(part.size * ratio, block))
        fine[(part[:, None] * ratio + np.arange(ratio)[None, :]).ravel()] = smax
    idx = (hits[:, None] * ratio + np.arange(ratio)[None, :]).ravel()
    fine_reach = fine.copy()
    fine_reach[1:] = np.maximum(fine_reach[1:], fine[:-1])
    fine_reach[:-1] = np.maximum(fine_reach[:-1], fine[1:])
    sel = idx[fine_reach[idx] * np.float32(gain) > np.float32(threshold)]
    return np.asarray(sel[sel * block < y.size])


def true_peak_envelope(x: np.ndarray, sr: int, *, threshold: float = 0.0) -> np.ndarray:
    """Per-sample peak magnitude ``env[m] = max(|x[m]|, max |x(t)|, m < t < m+1)``.

    Exact (to the interpolator's accuracy) wherever it could exceed ``threshold``; elsewhere
    it is ``|x[m]|``, which is then known to be below ``threshold`` too. Mono ``(n,)`` float32 in,
    ``(n,)`` float32 out.
    """
    y = as_mono(x)
    env: np.ndarray = np.abs(y)
    if y.size == 0:
        return env
    factor = oversampling_factor(sr)
    mat, gain = _phases(factor)
    blocks = _candidate_blocks(y, gain, threshold)
    if blocks.size:
        block = _TAPS_PER_PHASE
        peaks = _interp_max(y, blocks, mat, factor)
        idx = (blocks[:, None] * block + np.arange(block)[None, :]).ravel()
        keep = idx < y.size
        env[idx[keep]] = np.maximum(env[idx[keep]], peaks.ravel()[keep])
    return env


def true_peak_over(x: np.ndarray, sr: int, *, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The samples ``m`` where :func:`true_peak_envelope` exceeds ``threshold``, and its
    values there: ``(indices, values)``, without a full-length envelope. Mono ``(n,)``."""
    y = as_mono(x)
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
    if y.size == 0:
        return empty
    factor = oversampling_factor(sr)
    mat, gain = _phases(factor)
    # a block outside the candidates has |x| and its interpolation under the threshold
    blocks = _candidate_blocks(y, gain, threshold)
    if blocks.size == 0:
        return empty
    block = _TAPS_PER_PHASE
    found: list[tuple[np.ndarray, np.ndarray]] = []
    step = 1 << 16  # blocks per step: a million samples of index and value arrays at most
    for start in range(0, blocks.size, step):
        part = blocks[start : start + step]
        peaks = _interp_max(y, part, mat, factor).ravel()
        idx = (part[:, None].astype(np.int64) * block + np.arange(block)[None, :]).ravel()
        keep = idx < y.size
        idx, peaks = idx[keep], peaks[keep]
        values = np.maximum(np.abs(y[idx]), peaks)
        hit = values > threshold
        found.append((idx[hit], values[hit]))
    return (
        np.concatenate([f[0] for f in found]),
        np.concatenate([f[1] for f in found]).astype(np.float32, copy=False),
    )


def _true_peak_mono(y: np.ndarray, sr: int, floor: float) -> float:
    """Largest true peak of mono ``y``, or ``floor`` if it cannot exceed it; no full envelope."""
    sample_peak = float(max(y.max(), -y.min()))
    threshold = max(sample_peak, floor)
    factor = oversampling_factor(sr)
    mat, gain = _phases(factor)
    blocks = _candidate_blocks(y, gain, threshold)
    if blocks.size == 0:
        return threshold
    return max(threshold, float(_interp_max(y, blocks, mat, factor).max()))


def true_peak(x: np.ndarray, sr: int) -> float:
    """True peak as a linear amplitude (1.0 = full scale). Mono ``(n,)`` or ``(n, channels)``."""
    check_rate(sr)
    frames = as_frames(x)
    peak = 0.0
    for c in range(frames.shape[1]):
        ch = as_mono(frames[:, c])
        if ch.size == 0:
            continue
        peak = max(peak, _true_peak_mono(ch, sr, peak))
    return peak


def true_peak_db(x: np.ndarray, sr: int) -> float:
    """True peak in dBTP; ``-inf`` if silent. Mono ``(n,)`` or multichannel ``(n, channels)``;
    NaN/inf samples are an error."""
    frames = as_frames(x)
    check_finite(frames)
    tp = true_peak(frames, sr)
    return float(20.0 * np.log10(tp)) if tp > 0 else float("-inf")
