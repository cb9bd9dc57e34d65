"""Speech dynamics: a slow leveller (AGC), a compressor, and a look-ahead true-peak limiter.

All three are mono ``(n,)`` float32 → ``(n,)`` float32 functions of ``(x, sr)``, vectorised:

* Gain smoothing with a release is the recursion ``r[n] = max(d[n], r[n-1] - c)`` (reduction in
  dB, recovering at ``c`` dB per sample). Unrolled it is ``r[n] = max_k (d[k] - c(n-k))``, i.e.
  ``cummax(d + c·n) - c·n``: one ``np.maximum.accumulate`` instead of a Python loop.
* The limiter's look-ahead is a forward running maximum of the required reduction followed by a
  backward moving average of the same length, which guarantees at every peak a reduction at
  least as large as needed while the gain moves smoothly (no clicks).
"""

from __future__ import annotations

import numpy as np

from audio import running
from audio.iir import sosfilt
from audio.loudness import MOMENTARY_HOPS, HopEnergies, hop_energies
from audio.samples import as_mono, check_rate
from audio.truepeak import true_peak, true_peak_over

# The limiter recovers 200 dB/s. At a fixed release speed the loudness a limiter can reach
# under a ceiling levels off however much gain goes in (the output tends to the signal divided
# by its decaying peak envelope): at 60 dB/s the benchmark speech could not reach -16 LUFS
# under -3 dBTP at all, and reached it under -2 dBTP only with 4.3 dB of limiting. At 200 dB/s
# it needs 2.2 dB there, and the limited speech scores PESQ-WB 4.49 against plain gain instead
# of 4.46 (4.39 against 4.03 under -3 dBTP); faster release gained nothing more (BENCHMARKS.md).
LIMITER_RELEASE_DB_PER_S = 200.0
_ROWS = 1 << 14  # blocks per step where a long signal is handled a few rows at a time


def _release(reduction_db: np.ndarray, db_per_sample: float) -> np.ndarray:
    """``r[n] = max(d[n], r[n-1] - c)`` for ``d ≥ 0``, computed without a loop."""
    ramp = np.arange(reduction_db.size, dtype=np.float64) * db_per_sample
    return np.asarray(np.maximum.accumulate(reduction_db + ramp) - ramp, dtype=np.float64)


def _one_pole(x: np.ndarray, a: float) -> np.ndarray:
    """``y[n] = (1 - a)·x[n] + a·y[n-1]`` from rest: a biquad with ``b1 = b2 = a2 = 0``."""
    return sosfilt([[1.0 - a, 0.0, 0.0, 1.0, -a, 0.0]], x)


def level(
    x: np.ndarray,
    sr: int,
    *,
    strength: float = 0.6,
    max_boost_db: float = 10.0,
    max_cut_db: float = 10.0,
    smoothing_s: float = 1.0,
    gate_rel_db: float = -20.0,
    hops: HopEnergies | None = None,
) -> np.ndarray:
    """Slow automatic gain: bring quiet and loud passages towards the recording's own level.

    The momentary loudness (400 ms blocks every 100 ms) of each speech block is pulled
    ``strength`` of the way towards the integrated loudness, limited to ``+max_boost_db`` /
    ``-max_cut_db``. Blocks quieter than ``gate_rel_db`` below the integrated loudness (pauses,
    background) get no gain of their own: they take the gain of the speech around them, so
    noise between sentences is never pumped up. The gain curve is smoothed with a Gaussian of
    ``smoothing_s`` seconds. Overall loudness is roughly unchanged. ``hops`` passes the meter's
    hop energies of ``x`` when the caller has them already.
    """
    sr = check_rate(sr)
    y = as_mono(x)
    h = hop_energies(y, sr) if hops is None else hops
    z = h.block_mean_squares(MOMENTARY_HOPS)
    if z.size < 2:
        return y
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10.0 * np.log10(z)
    active = loud > -70.0
    if not active.any():
        return y
    ref = -0.691 + 10.0 * np.log10(z[active].mean())
    speech = loud > max(ref + gate_rel_db, -70.0)
    centres = (h.bounds[:-MOMENTARY_HOPS] + h.bounds[MOMENTARY_HOPS:]) / 2.0
    want = np.clip(strength * (ref - loud[speech]), -max_cut_db, max_boost_db)
    gain_db = np.interp(centres, centres[speech], want)
    gain_db = running.gaussian_filter1d(gain_db, max(smoothing_s * 10.0, 1e-3))
    # the curve is smooth over a second: knots every millisecond, linear between them, cost a
    # fraction of interpolating at every sample
    block = max(1, round(sr / 1000))
    knots = np.arange(-(-y.size // block) + 1, dtype=np.float64) * block
    return _apply_knot_gain(y, 10.0 ** (np.interp(knots, centres, gain_db) / 20.0), block)


def _block_mean_square(y: np.ndarray, block: int) -> np.ndarray:
    """Mean of ``y²`` per block of ``block`` samples (the last one zero-padded), float64;
    squared a few rows at a time, so no full-length copy is made."""
    nb = -(-y.size // block)
    full = y.size // block
    out = np.empty(nb, dtype=np.float64)
    rows = y[: full * block].reshape(full, block)
    for lo in range(0, full, _ROWS):
        hi = min(full, lo + _ROWS)
        out[lo:hi] = np.square(rows[lo:hi]).mean(axis=1, dtype=np.float64)
    if full < nb:
        tail = np.zeros(block, dtype=np.float32)
        tail[: y.size - full * block] = np.square(y[full * block :])
        out[full] = tail.mean(dtype=np.float64)
    return out


def _apply_knot_gain(
    y: np.ndarray, knot_gain: np.ndarray, block: int, *, in_place: bool = False
) -> np.ndarray:
    """Multiply ``y`` by a gain given at samples ``0, block, 2·block, ...`` (``nb + 1`` knots),
    linearly interpolated, touching only the blocks where the gain is not 1. ``in_place``:
    into ``y`` itself (a temporary the caller made), not into a copy."""
    nb = knot_gain.size - 1
    changed = knot_gain != 1.0
    touched = changed[:-1] | changed[1:]
    out = y if in_place else y.copy()
    full = y.size // block
    rows = out[: full * block].reshape(full, block)
    frac = (np.arange(block, dtype=np.float32) / block)[None, :]
    gain = knot_gain.astype(np.float32)
    # a gain of exactly 1 leaves the samples bit-identical
    for lo in range(0, full, _ROWS):
        hi = min(full, lo + _ROWS)
        if not touched[lo:hi].any():
            continue
        g0 = gain[lo:hi, None]
        g1 = gain[lo + 1 : hi + 1, None]
        rows[lo:hi] *= g0 + (g1 - g0) * frac
    if full < nb and touched[full]:  # the last, partial block
        ramp = gain[full] + (gain[full + 1] - gain[full]) * frac[0, : y.size - full * block]
        out[full * block :] *= ramp
    return out


def compress(
    x: np.ndarray,
    sr: int,
    *,
    threshold_db: float = -24.0,
    ratio: float = 3.0,
    knee_db: float = 6.0,
    rms_ms: float = 10.0,
    attack_ms: float = 5.0,
    release_db_per_s: float = 40.0,
) -> np.ndarray:
    """Feed-forward RMS compressor with a soft knee (Giannoulis, Massberg & Reiss, JAES 2012).

    Level: RMS over ``rms_ms`` (one-pole on ``x²``) in dBFS, +3 dB so a sine reads its peak.
    Static curve: no reduction below ``threshold_db - knee/2``; ``(1 - 1/ratio)·(L - T)`` above
    ``T + knee/2``; quadratic in the knee. The reduction is released at ``release_db_per_s`` and
    its onset smoothed with an ``attack_ms`` one-pole. Control runs at a 1 ms rate and the gain
    is interpolated per sample. No make-up gain: the loudness stage sets the level afterwards.
    """
    sr = check_rate(sr)
    y = as_mono(x)
    if y.size == 0:
        return y
    if ratio < 1.0:
        raise ValueError(f"compressor ratio must be ≥ 1, got {ratio}")
    block = max(1, round(sr / 1000))
    rate = sr / block
    ms = _block_mean_square(y, block)
    a = float(np.exp(-1.0 / (max(rms_ms, 0.1) * 1e-3 * rate)))
    ms = _one_pole(ms, a)
    level_db = 10.0 * np.log10(np.maximum(ms, 1e-12)) + 3.0103
    over = level_db - threshold_db
    slope = 1.0 - 1.0 / ratio
    w = max(knee_db, 1e-6)
    red = np.where(
        over <= -w / 2,
        0.0,
        np.where(over >= w / 2, slope * over, slope * (over + w / 2) ** 2 / (2 * w)),
    )
    red = _release(red, release_db_per_s / rate)
    b = float(np.exp(-1.0 / (max(attack_ms, 0.01) * 1e-3 * rate)))
    red = _one_pole(red, b)
    # block k's value describes its centre; knots at block starts take the mean of neighbours
    knots = np.empty(red.size + 1)
    knots[0] = red[0]
    knots[-1] = red[-1]
    knots[1:-1] = 0.5 * (red[:-1] + red[1:])
    return _apply_knot_gain(y, np.power(10.0, -knots / 20.0), block)


def limit_true_peak(
    x: np.ndarray,
    sr: int,
    *,
    ceiling_db: float = -2.0,
    lookahead_ms: float = 5.0,
    release_db_per_s: float = LIMITER_RELEASE_DB_PER_S,
    max_passes: int = 4,
) -> np.ndarray:
    """Look-ahead limiter on the true (oversampled) peak: output true peak ≤ ``ceiling_db``.

    The required reduction comes from the true-peak envelope
    (:func:`audio.truepeak.true_peak_envelope`), taken per 0.5 ms control block. It is spread
    ``lookahead_ms`` ahead of each peak (forward running max), released at
    ``release_db_per_s`` and smoothed by a backward moving average over the look-ahead, so the
    gain reaches its floor at the peak; the gain is interpolated linearly between block edges,
    and both edges of a block already carry its full reduction. Because the gain changes
    between samples, the result is re-measured and a further pass runs on anything still over
    (rare, tiny); after ``max_passes`` a plain gain makes sure.
    """
    sr = check_rate(sr)
    y = as_mono(x)
    if y.size == 0:
        return y
    ceiling = float(10.0 ** (ceiling_db / 20.0))
    for _ in range(max_passes):
        # a hair under the ceiling so interpolation between gain steps stays inside it
        target = ceiling * 0.995
        over, peaks = true_peak_over(y, sr, threshold=target)
        if peaks.size == 0 or float(peaks.max()) <= ceiling:
            return y
        need = 20.0 * np.log10(peaks.astype(np.float64) / target)
        y = reduce_gain_at(
            y, sr, over, need, lookahead_ms=lookahead_ms, release_db_per_s=release_db_per_s
        )
    tp = true_peak(y, sr)
    if tp > ceiling:
        y = (y * np.float32(ceiling * 0.999 / tp)).astype(np.float32)
    return y


def reduce_gain(
    x: np.ndarray,
    sr: int,
    need_db: np.ndarray,
    *,
    lookahead_ms: float = 5.0,
    release_db_per_s: float = LIMITER_RELEASE_DB_PER_S,
) -> np.ndarray:
    """Lower ``x`` by at least ``need_db[m]`` dB at every sample ``m``, smoothly.

    The limiter's gain engine, also used to pull down the few places where a codec pushed
    the decoded peak over the limit. Control runs per 0.5 ms block: a block's need goes to
    both its edges, is spread ``lookahead_ms`` ahead (forward running max), released at
    ``release_db_per_s`` and averaged backwards over the look-ahead, so every edge keeps at
    least the need of its blocks; the gain is linear between edges.
    """
    sr = check_rate(sr)
    y = as_mono(x)
    if need_db.shape != y.shape:
        raise ValueError(f"need_db has shape {need_db.shape}, the signal {y.shape}")
    over = np.flatnonzero(need_db > 0)
    return reduce_gain_at(
        y,
        sr,
        over,
        np.asarray(need_db[over], dtype=np.float64),
        lookahead_ms=lookahead_ms,
        release_db_per_s=release_db_per_s,
    )


def reduce_gain_curve(
    n: int,
    sr: int,
    over: np.ndarray,
    need_db: np.ndarray,
    *,
    lookahead_ms: float = 5.0,
    release_db_per_s: float = LIMITER_RELEASE_DB_PER_S,
) -> tuple[np.ndarray, int]:
    """The gain engine of :func:`reduce_gain` without touching the signal: the reduction (dB)
    at the knots ``0, block, 2·block, ...`` for a signal of ``n`` samples that must be lowered
    by ``need_db[i]`` at sample ``over[i]``; returns the knots and the block length."""
    sr = check_rate(sr)
    block = max(1, round(sr / 2000))
    size = max(1, -(-round(lookahead_ms * 1e-3 * sr) // block)) + 1
    nb = -(-n // block)
    need = np.zeros(nb + 1, dtype=np.float64)
    if over.size == 0:
        return need, block
    np.maximum.at(need, over // block, need_db)
    need[1:] = np.maximum(need[1:], need[:-1])  # both edges of a block carry its need
    d = running.maximum_filter1d(need, size, origin=-(size // 2), mode="constant")
    d = _release(d, release_db_per_s * block / sr)
    d = running.uniform_filter1d(d, size, origin=(size - 1) // 2, mode="nearest")
    return d, block


def reduce_gain_at(
    x: np.ndarray,
    sr: int,
    over: np.ndarray,
    need_db: np.ndarray,
    *,
    lookahead_ms: float = 5.0,
    release_db_per_s: float = LIMITER_RELEASE_DB_PER_S,
    in_place: bool = False,
) -> np.ndarray:
    """:func:`reduce_gain` with the need given sparsely: ``need_db[i]`` dB at sample
    ``over[i]`` (no full-length need array). ``in_place``: ``x`` is the caller's temporary
    float32 array and is changed, not copied."""
    y = as_mono(x)
    if over.size == 0:
        return y
    d, block = reduce_gain_curve(
        y.size, sr, over, need_db, lookahead_ms=lookahead_ms, release_db_per_s=release_db_per_s
    )
    return _apply_knot_gain(y, np.power(10.0, -d / 20.0), block, in_place=in_place and y is x)


def curve_spans(d: np.ndarray, block: int, n: int) -> np.ndarray:
    """The sample spans ``[start, stop)`` (rows of an ``(m, 2)`` array) that a reduction curve
    from :func:`reduce_gain_curve` changes; every other sample stays bit-identical."""
    touched = (d[:-1] > 0) | (d[1:] > 0)
    edges = np.flatnonzero(np.diff(np.r_[0, touched.astype(np.int8), 0]))
    spans = edges.reshape(-1, 2) * block
    np.minimum(spans, n, out=spans)
    return spans
