"""Loudness meter after ITU-R BS.1770-4 and EBU R128 (EBU Tech 3341, Tech 3342).

Shape convention: every function takes mono ``(n,)`` or multichannel ``(n, channels)`` samples
(frames first) and the sample rate in Hz. Multichannel weights ``G_i`` follow BS.1770-4 Table 3:
1.0 for L, R, C and 1.41 for the surround channels, i.e. ``(1, 1, 1, 1.41, 1.41)`` for five
channels in the order L, R, C, Ls, Rs and ``(1, 1, 1, 0, 1.41, 1.41)`` for 5.1 with the LFE
fourth; any other layout weighs every channel 1.0 unless ``channel_weights`` is given.

How it is computed (vectorised): the K-weighted signal is squared and summed per 100 ms hop,
once; a gating block is a sum of consecutive hops (4 for the 400 ms momentary block with 75 %
overlap, 30 for the 3 s short-term block), taken from a cumulative sum.

* Mean square of block j:      ``z_j = Σ_i G_i · mean(y_i²)``          (BS.1770-4 eq. 1-3)
* Loudness of a block:         ``L_j = -0.691 + 10·log10(z_j)``        (eq. 4)
* Integrated: absolute gate −70 LKFS, relative gate −10 LU below the energy mean of the blocks
  that pass the absolute gate; ``L = -0.691 + 10·log10(mean z_j over the gated blocks)`` (eq. 5-7)
* Loudness range (Tech 3342): 3 s blocks, absolute gate −70 LUFS, relative gate −20 LU,
  ``LRA = P95 − P10`` of the remaining short-term loudness values.

Extension for very short input: shorter than one 400 ms block, the whole signal is measured
as a single block (BS.1770 would return nothing), so a 0.3 s clip still gets a loudness.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from audio.filters import k_weighting_sos
from audio.iir import SosFilter
from audio.samples import as_frames, check_finite, check_rate
from audio.truepeak import true_peak, true_peak_db

__all__ = [
    "HopEnergies",
    "LoudnessStats",
    "hop_energies",
    "integrated_from_hops",
    "integrated_loudness",
    "loudness_range",
    "measure",
    "momentary_loudness",
    "momentary_max",
    "short_term_loudness",
    "short_term_max",
    "stats_from_hops",
    "true_peak_db",
]

ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
LRA_RELATIVE_GATE = -20.0
_OFFSET = -0.691
_HOPS_PER_SECOND = 10
MOMENTARY_HOPS = 4
SHORT_TERM_HOPS = 30
_CHUNK_HOPS = 200  # 20 s of signal filtered per step keeps memory flat


def default_channel_weights(channels: int) -> tuple[float, ...]:
    """BS.1770-4 channel weights for a plain channel count (see module docstring)."""
    if channels == 5:
        return (1.0, 1.0, 1.0, 1.41, 1.41)
    if channels == 6:
        return (1.0, 1.0, 1.0, 0.0, 1.41, 1.41)
    return (1.0,) * channels


@dataclass(frozen=True)
class HopEnergies:
    """K-weighted, channel-weighted energy ``Σ_i G_i Σ y_i²`` per 100 ms hop.

    ``bounds[k]`` is the first sample of hop ``k``; ``energy[k]`` covers
    ``bounds[k]:bounds[k+1]``. A trailing partial hop is dropped (blocks must be complete).
    ``whole`` is the mean square of the entire signal, for inputs shorter than one block.
    """

    energy: np.ndarray
    bounds: np.ndarray
    whole: float
    n: int
    sr: int

    def block_mean_squares(self, hops: int) -> np.ndarray:
        """Mean square ``z_j`` of every complete block of ``hops`` hops, at 100 ms steps."""
        if self.energy.size < hops:
            return np.empty(0)
        csum = np.concatenate(([0.0], np.cumsum(self.energy)))
        sums = csum[hops:] - csum[:-hops]
        lengths = self.bounds[hops:] - self.bounds[:-hops]
        return np.asarray(sums / lengths, dtype=np.float64)


def hop_energies(
    x: np.ndarray, sr: int, *, channel_weights: tuple[float, ...] | None = None
) -> HopEnergies:
    """K-weight ``x`` (``(n,)`` or ``(n, channels)``) and sum its energy per 100 ms hop."""
    sr = check_rate(sr)
    frames = as_frames(x)
    check_finite(frames)
    n, channels = frames.shape
    weights = channel_weights or default_channel_weights(channels)
    if len(weights) != channels:
        raise ValueError(f"{len(weights)} channel weights given for {channels} channels")
    n_hops = (n * _HOPS_PER_SECOND) // sr
    bounds = np.round(np.arange(n_hops + 1) * (sr / _HOPS_PER_SECOND)).astype(np.int64)
    energy = np.zeros(n_hops, dtype=np.float64)
    sos = k_weighting_sos(sr)
    dtype = np.float64 if frames.dtype == np.float64 else np.float32
    whole = 0.0
    for c, g in enumerate(weights):
        if g == 0.0:
            continue
        k_weight = SosFilter(sos)
        ch = frames[:, c]
        # chunks of whole hops, filter state carried across: the same result as one pass
        edges = [*(int(b) for b in bounds[::_CHUNK_HOPS]), n]
        pos = 0
        for lo, hi in itertools.pairwise(edges):
            if hi <= lo:
                continue
            y = k_weight(ch[lo:hi], dtype=dtype)
            k0 = pos
            k1 = min(n_hops, int(np.searchsorted(bounds, hi, side="right")) - 1)
            if sr % _HOPS_PER_SECOND == 0:
                # whole-sample hops: per-hop sums of squares straight from a reshape
                hop = sr // _HOPS_PER_SECOND
                full = (k1 - k0) * hop
                rows = y[:full].reshape(k1 - k0, hop)
                sums = np.einsum("ij,ij->i", rows, rows).astype(np.float64)
                energy[k0:k1] += g * sums
                tail = y[full:]
                whole += g * (float(sums.sum()) + float(np.dot(tail, tail)))
            else:
                sq = np.square(y, dtype=np.float64)
                whole += g * float(sq.sum())
                if k1 > k0:
                    rel = bounds[k0 : k1 + 1] - lo
                    cs = np.concatenate(([0.0], np.cumsum(sq)))
                    energy[k0:k1] += g * (cs[rel[1:]] - cs[rel[:-1]])
            pos = k1
    return HopEnergies(energy=energy, bounds=bounds, whole=whole / max(n, 1), n=n, sr=sr)


def _to_lufs(z: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.asarray(_OFFSET + 10.0 * np.log10(z), dtype=np.float64)


def _gated_integrated(z: np.ndarray) -> float:
    loud = _to_lufs(z)
    z_abs = z[loud > ABSOLUTE_GATE]
    if z_abs.size == 0:
        return float("-inf")
    gate = float(_to_lufs(z_abs.mean())) + RELATIVE_GATE
    z_rel = z[(loud > ABSOLUTE_GATE) & (loud > gate)]
    return float(_to_lufs(z_rel.mean()))


def _blocks_or_whole(h: HopEnergies, hops: int) -> np.ndarray:
    z = h.block_mean_squares(hops)
    if z.size == 0 and h.n > 0:
        z = np.array([h.whole])
    return z


def _integrated_from(h: HopEnergies) -> float:
    return _gated_integrated(_blocks_or_whole(h, MOMENTARY_HOPS))


def integrated_from_hops(h: HopEnergies) -> float:
    """Gated integrated loudness (LUFS) from precomputed (possibly adjusted) hop energies."""
    return _integrated_from(h)


def _lra_from(h: HopEnergies) -> float:
    z = h.block_mean_squares(SHORT_TERM_HOPS)
    if z.size == 0:
        return 0.0
    loud = _to_lufs(z)
    z_abs = z[loud > ABSOLUTE_GATE]
    if z_abs.size == 0:
        return 0.0
    gate = float(_to_lufs(z_abs.mean())) + LRA_RELATIVE_GATE
    kept = loud[(loud > ABSOLUTE_GATE) & (loud > gate)]
    lo, hi = np.percentile(kept, [10.0, 95.0])
    return float(hi - lo)


def _max_from(h: HopEnergies, hops: int) -> float:
    z = _blocks_or_whole(h, hops) if hops == MOMENTARY_HOPS else h.block_mean_squares(hops)
    if z.size == 0:
        return float("-inf")
    return float(_to_lufs(z.max()))


def integrated_loudness(
    x: np.ndarray, sr: int, *, channel_weights: tuple[float, ...] | None = None
) -> float:
    """Gated integrated loudness in LUFS (BS.1770-4); ``-inf`` when nothing passes the gates."""
    return _integrated_from(hop_energies(x, sr, channel_weights=channel_weights))


def loudness_range(
    x: np.ndarray, sr: int, *, channel_weights: tuple[float, ...] | None = None
) -> float:
    """Loudness range in LU (EBU Tech 3342); 0.0 for signals shorter than 3 s or silent."""
    return _lra_from(hop_energies(x, sr, channel_weights=channel_weights))


def momentary_loudness(
    x: np.ndarray, sr: int, *, channel_weights: tuple[float, ...] | None = None
) -> np.ndarray:
    """Momentary loudness (400 ms blocks) every 100 ms, LUFS, ``(blocks,)`` float64."""
    return _to_lufs(hop_energies(x, sr, channel_weights=channel_weights).block_mean_squares(4))


def short_term_loudness(
    x: np.ndarray, sr: int, *, channel_weights: tuple[float, ...] | None = None
) -> np.ndarray:
    """Short-term loudness (3 s blocks) every 100 ms, LUFS, ``(blocks,)`` float64."""
    h = hop_energies(x, sr, channel_weights=channel_weights)
    return _to_lufs(h.block_mean_squares(SHORT_TERM_HOPS))


def momentary_max(
    x: np.ndarray, sr: int, *, channel_weights: tuple[float, ...] | None = None
) -> float:
    """Largest momentary loudness in LUFS."""
    return _max_from(hop_energies(x, sr, channel_weights=channel_weights), MOMENTARY_HOPS)


def short_term_max(
    x: np.ndarray, sr: int, *, channel_weights: tuple[float, ...] | None = None
) -> float:
    """Largest short-term loudness in LUFS; ``-inf`` for signals shorter than 3 s."""
    return _max_from(hop_energies(x, sr, channel_weights=channel_weights), SHORT_TERM_HOPS)


@dataclass(frozen=True)
class LoudnessStats:
    """Everything the meter reports, from one pass over the K-weighted signal."""

    integrated: float
    loudness_range: float
    true_peak_db: float
    momentary_max: float
    short_term_max: float
    sample_peak_db: float


def measure(
    x: np.ndarray,
    sr: int,
    *,
    channel_weights: tuple[float, ...] | None = None,
    with_true_peak: bool = True,
) -> LoudnessStats:
    """Integrated loudness, LRA, true peak, momentary and short-term maxima in one pass."""
    frames = as_frames(x)
    h = hop_energies(frames, sr, channel_weights=channel_weights)
    peak = float(max(frames.max(), -frames.min())) if frames.size else 0.0
    tp = true_peak(frames, sr) if with_true_peak else peak
    return stats_from_hops(h, true_peak=tp, sample_peak=peak)


def stats_from_hops(h: HopEnergies, *, true_peak: float, sample_peak: float) -> LoudnessStats:
    """:class:`LoudnessStats` from hop energies and linear peaks, however they were gathered
    (one array here, a stream in :mod:`audio.stream_meter`)."""
    with np.errstate(divide="ignore"):
        return LoudnessStats(
            integrated=_integrated_from(h),
            loudness_range=_lra_from(h),
            true_peak_db=float(20 * np.log10(true_peak)) if true_peak > 0 else float("-inf"),
            momentary_max=_max_from(h, MOMENTARY_HOPS),
            short_term_max=_max_from(h, SHORT_TERM_HOPS),
            sample_peak_db=float(20 * np.log10(sample_peak)) if sample_peak > 0 else float("-inf"),
        )


_ = true_peak_db  # re-exported: the meter's public API includes the true peak
