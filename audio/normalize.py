"""Gain to a target loudness under a true-peak ceiling, the limiter predicted, not rerun.

Limiting lowers the loudness, so the gain that reaches the target after the limiter is found
by a search; each step of it predicts the limited loudness from the signal's peaks and
K-weighted block energies (:class:`_LimitedLoudness`), and the limiter runs once at the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from audio import dynamics
from audio.errors import EmptyAudioError
from audio.filters import k_weighting_sos
from audio.iir import SosFilter
from audio.loudness import HopEnergies, hop_energies, integrated_from_hops, integrated_loudness
from audio.truepeak import true_peak_over


class _LimitedLoudness:
    """Predicts the integrated loudness of ``limit(x · gain)`` without running the limiter.

    The true-peak envelope of ``x · g`` is ``g`` times that of ``x`` (computed once, exact
    wherever the limiter can act), so the limiter's gain curve for any ``g`` comes from the
    sparse peak list alone (:func:`dynamics.reduce_gain_curve`). The K-weighted energy of
    ``x`` per 0.5 ms control block is computed once; limiting scales a block's energy by the
    mean square of its gain, so the hop energies of the limited signal, and with them the
    gated loudness, follow without touching the signal.
    """

    def __init__(
        self,
        x: np.ndarray,
        sr: int,
        ceiling_db: float,
        *,
        exact: bool = True,
        release_db_per_s: float = dynamics.LIMITER_RELEASE_DB_PER_S,
    ) -> None:
        self.x, self.sr, self.exact, self.release = x, sr, exact, release_db_per_s
        self.target = float(10.0 ** (ceiling_db / 20.0)) * 0.995
        _, self.block = dynamics.reduce_gain_curve(x.size, sr, np.empty(0, np.int64), np.empty(0))
        nb = -(-x.size // self.block)
        self.block_energy = np.empty(nb, dtype=np.float64)
        # K-weighted in pieces of whole blocks, the filter's state carried: no full-length
        # copies of a long recording
        k_weight = SosFilter(k_weighting_sos(sr))
        piece = self.block * (1 << 15)
        for lo in range(0, x.size, piece):
            kx = k_weight(x[lo : lo + piece], dtype=np.float32)
            m = -(-kx.size // self.block)
            sq = np.zeros(m * self.block, dtype=np.float32)
            np.square(kx, out=sq[: kx.size])
            b0 = lo // self.block
            self.block_energy[b0 : b0 + m] = sq.reshape(m, self.block).sum(axis=1, dtype=np.float64)
        self.hops = self._hops_from_blocks(x.size) or hop_energies(x, sr)
        starts = np.arange(nb, dtype=np.int64) * self.block
        hop = np.searchsorted(self.hops.bounds, starts, side="right") - 1
        self.block_hop = np.where(hop < self.hops.energy.size, hop, -1)
        self.env_gain = -math.inf
        self.over = np.empty(0, dtype=np.int64)
        self.peaks = np.empty(0, dtype=np.float32)

    def _hops_from_blocks(self, n: int) -> HopEnergies | None:
        """The meter's 100 ms hop energies summed from the control blocks when whole blocks
        make a hop (16 and 48 kHz): the K-weighting then runs once instead of twice."""
        hop = self.sr // 10
        if self.sr % 10 or hop % self.block:
            return None
        n_hops = n // hop
        per = hop // self.block
        energy = self.block_energy[: n_hops * per].reshape(n_hops, per).sum(axis=1)
        bounds = np.arange(n_hops + 1, dtype=np.int64) * hop
        whole = float(self.block_energy.sum()) / max(n, 1)
        return HopEnergies(energy=energy, bounds=bounds, whole=whole, n=n, sr=self.sr)

    def _envelope(self, gain_db: float) -> None:
        if gain_db <= self.env_gain:
            return
        # exact for gains up to 6 dB above this one, so a search rarely recomputes it
        self.env_gain = gain_db + 6.0
        thr = self.target / 10.0 ** (self.env_gain / 20.0)
        over, peaks = true_peak_over(self.x, self.sr, threshold=thr)
        # the limiter acts per control block: keep each block's largest peak only
        blocks = over // self.block
        if blocks.size:
            starts = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1]])
            self.over = blocks[starts] * self.block
            self.peaks = np.maximum.reduceat(peaks, starts)
        else:
            self.over, self.peaks = over, peaks

    def need(self, gain_db: float) -> tuple[np.ndarray, np.ndarray]:
        """Samples over the ceiling at ``gain_db`` and by how much (dB)."""
        self._envelope(gain_db)
        lin = self.peaks.astype(np.float64) * 10.0 ** (gain_db / 20.0)
        hit = lin > self.target
        return self.over[hit], 20.0 * np.log10(lin[hit] / self.target)

    def loudness(self, gain_db: float) -> float:
        over, need = self.need(gain_db)
        d, _ = dynamics.reduce_gain_curve(
            self.x.size, self.sr, over, need, release_db_per_s=self.release
        )
        g = np.power(10.0, -d / 20.0)
        g2 = (g[:-1] ** 2 + g[:-1] * g[1:] + g[1:] ** 2) / 3.0  # mean square of a linear ramp
        lost = (1.0 - g2) * self.block_energy
        ok = self.block_hop >= 0
        drop = np.bincount(self.block_hop[ok], weights=lost[ok], minlength=self.hops.energy.size)
        energy = np.maximum(self.hops.energy - drop, 0.0) * 10.0 ** (gain_db / 10.0)
        h = HopEnergies(
            energy=energy,
            bounds=self.hops.bounds,
            whole=self.hops.whole * 10.0 ** (gain_db / 10.0),
            n=self.hops.n,
            sr=self.sr,
        )
        return integrated_from_hops(h)

    def apply(self, gain_db: float, ceiling_db: float) -> np.ndarray:
        over, need = self.need(gain_db)
        y = dynamics.reduce_gain_at(
            self.x * np.float32(10.0 ** (gain_db / 20.0)),
            self.sr,
            over,
            need,
            release_db_per_s=self.release,
            in_place=True,  # the gained copy is ours
        )
        if not self.exact:
            return y
        # catches what the interpolated gain let through (rare, tiny)
        return dynamics.limit_true_peak(
            y, self.sr, ceiling_db=ceiling_db, release_db_per_s=self.release
        )


# More limiting than this ruins speech; a signal that still misses the target with it (steady
# full-scale tones, a square wave) would otherwise drive the search to absurd gains, where
# float32 overflows to inf and the limiter's arithmetic turns silence into NaN.
MAX_LIMITING_DB = 24.0


def _secant(
    f: Callable[[float], float], target: float, gain: float, iterations: int, ceiling: float
) -> float:
    """The gain, at most ``ceiling``, that brings ``f`` to ``target``."""
    tried: list[tuple[float, float]] = []
    for _ in range(iterations):
        got = f(gain)
        if abs(target - got) < 0.04:
            break
        tried.append((gain, got))
        slope = 1.0
        if len(tried) >= 2:
            (g0, l0), (g1, l1) = tried[-2], tried[-1]
            slope = (l1 - l0) / (g1 - g0) if g1 != g0 else 1.0
        gain += float(np.clip((target - got) / min(max(slope, 0.1), 1.0), -12.0, 12.0))
        gain = min(gain, ceiling)
    return gain


def _search_gain(
    x: np.ndarray,
    sr: int,
    target_lufs: float,
    ceiling_db: float,
    *,
    gain: float,
    iterations: int,
    est: _LimitedLoudness | None = None,
) -> tuple[np.ndarray, float]:
    """Secant search for the pre-limiter gain that puts the limited ``x`` on the target.

    Loudness after the limiter rises monotonically but ever more slowly with the gain (slope
    1 without limiting, about 0.2 on peaky speech limited by 7 dB). The search runs on the
    predicted loudness of :class:`_LimitedLoudness` (no limiter runs); the limiter is then
    applied once, measured, and if the prediction was off by more than 0.05 LU the gain is
    corrected by the local slope and the limiter applied once more.
    """
    est = _LimitedLoudness(x, sr, ceiling_db) if est is None else est
    most = target_lufs - integrated_from_hops(est.hops) + MAX_LIMITING_DB
    gain = _secant(est.loudness, target_lufs, min(gain, most), max(iterations, 8), most)
    y = est.apply(gain, ceiling_db)
    if not est.exact:
        # the prediction is the limited loudness to about 0.005 LU (a test checks it); without
        # the limiter's final check the only error left is the encoder's, which the chain
        # measures on the decoded file and corrects
        return y, gain
    got = integrated_loudness(y, sr)
    if abs(target_lufs - got) >= 0.05 and gain < most:
        predicted = est.loudness(gain)
        slope = (est.loudness(gain + 0.5) - predicted) / 0.5
        step = (target_lufs - got) / min(max(slope, 0.1), 1.0)
        gain = min(gain + float(np.clip(step, -12.0, 12.0)), most)
        y = est.apply(gain, ceiling_db)
    return y, gain


def normalize(
    x: np.ndarray,
    sr: int,
    *,
    target_lufs: float,
    ceiling_db: float | None,
    iterations: int = 6,
    start_gain_db: float | None = None,
    exact_ceiling: bool = True,
    release_db_per_s: float = dynamics.LIMITER_RELEASE_DB_PER_S,
) -> tuple[np.ndarray, float]:
    """Gain ``x`` to ``target_lufs`` integrated, then true-peak limit to ``ceiling_db``.

    Limiting lowers the loudness (by up to a few LU on peaky speech), so the gain is found by
    a secant search (:func:`_search_gain`) to within 0.05 LU. Returns the result and the gain
    applied before the limiter (dB). ``ceiling_db=None`` means plain gain, no limiter.
    ``start_gain_db`` starts the search from a known good gain (a re-run after encoding).
    ``exact_ceiling=False`` skips the limiter's final check, which only ever shaves hundredths
    of a dB, and the loudness measurement of the result: for a lossy encode whose decoded file
    is measured (and corrected) anyway.
    ``release_db_per_s``: the limiter's release (:data:`dynamics.LIMITER_RELEASE_DB_PER_S`).
    """
    est = (
        None
        if ceiling_db is None
        else _LimitedLoudness(
            x, sr, ceiling_db, exact=exact_ceiling, release_db_per_s=release_db_per_s
        )
    )
    loud = integrated_loudness(x, sr) if est is None else integrated_from_hops(est.hops)
    if not np.isfinite(loud):
        raise EmptyAudioError("the recording is silent: nothing to make louder")
    gain = target_lufs - loud if start_gain_db is None else start_gain_db
    if ceiling_db is None:
        return (x * np.float32(10.0 ** (gain / 20.0))).astype(np.float32), gain
    y, gain = _search_gain(
        x, sr, target_lufs, ceiling_db, gain=gain, iterations=iterations, est=est
    )
    return y, gain
