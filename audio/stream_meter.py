"""The input's measurements (:func:`audio.analysis.describe`) taken from a stream of blocks.

An upload is measured at its own rate before it is resampled to the working rate; 10 minutes
of 48 kHz float32 are 115 MB, so the chain measures the recording as it decodes it and keeps
only the working-rate signal. :class:`StreamMeter` takes mono float32 blocks of any size, in
order, and gives the :class:`~audio.report.SignalReport` that ``describe`` gives on their
concatenation, holding a few seconds of signal and per-hop figures (a few hundred kB for an
hour). Each figure is gathered so that it equals the whole-array one:

* loudness (integrated, LRA, momentary and short-term maxima): the K-weighting filter's state
  carries from block to block (:class:`audio.iir.SosFilter`) and energies are summed per
  100 ms hop, as :func:`audio.loudness.hop_energies` sums them;
* true peak: each sample's interpolated interval needs ``x[m-7 .. m+8]``
  (:mod:`audio.truepeak`), so a sample is evaluated once the 8 after it have arrived;
* clipping: a sample counts when one of the three 3-sample windows holding it stays within
  0.1 % of the *final* peak, i.e. when the largest of those windows' minima reaches it. That
  value is kept for every sample within 0.1 % of the peak so far (the final peak is not lower),
  as distinct values with counts: a clipped recording repeats a few values, and there are at
  most about 17,000 float32 values in that band;
* noise floor and SNR: the 20 ms frame levels, 50 per second, are kept.
"""

from __future__ import annotations

import numpy as np

from audio.analysis import frame_levels_db, noise_from_levels, signal_report
from audio.filters import k_weighting_sos
from audio.iir import SosFilter
from audio.loudness import HopEnergies, stats_from_hops
from audio.report import SignalReport
from audio.samples import check_rate
from audio.truepeak import true_peak_envelope

_HOPS_PER_SECOND = 10
_BATCH = 1 << 17  # samples gathered before measuring: amortises the filter's per-call cost
_TP_CONTEXT = 8  # samples either side a true-peak interval reaches (x[m-7 .. m+8])
_CLIP_LEVEL = 0.999  # as audio.analysis.clipped_share
_CLIP_MIN_PEAK = 0.5


class StreamMeter:
    """Feed mono float32 blocks with :meth:`feed`, then take :meth:`report` once."""

    def __init__(
        self, sr: int, *, over: float | None = None, enough_above: float | None = None
    ) -> None:
        """``over``: also gather where the true-peak envelope exceeds it (:meth:`overs`).
        ``enough_above``: once the true peak passes it, only the true peak is followed on
        (the caller will reject the signal anyway) and :meth:`report` gives None."""
        self.sr = check_rate(sr)
        self._enough_above = enough_above
        self.cut_short = False
        self.n = 0
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._loud = _HopMeter(self.sr)
        self._tp = _TruePeak(self.sr, over)
        self._clip = _ClipMeter()
        self._frames = _FrameLevels(self.sr)
        self._peak = 0.0

    def feed(self, block: np.ndarray) -> None:
        """The next samples: finite mono float32 ``(n,)``."""
        if block.size == 0:
            return
        self._pending.append(block)
        self._pending_n += block.size
        if self._pending_n >= _BATCH:
            self._flush()

    def overs(self) -> tuple[np.ndarray, np.ndarray]:
        """After :meth:`report`, with ``over`` given: the samples whose true-peak envelope
        exceeds it and the envelope there, as :func:`audio.truepeak.true_peak_over` gives
        them for the whole signal."""
        return self._tp.overs()

    def report(self) -> SignalReport | None:
        """What :func:`audio.analysis.describe` says of everything fed (None if cut short)."""
        self._flush()
        self._tp.finish()
        if self.cut_short:
            return None
        self._clip.finish()
        stats = stats_from_hops(
            self._loud.finish(self.n), true_peak=self._tp.peak, sample_peak=self._peak
        )
        noise = noise_from_levels(self._frames.levels())
        clipped = self._clip.share(self._peak, self.n)
        return signal_report(self.n, self.sr, stats, noise, clipped)

    def _flush(self) -> None:
        if not self._pending:
            return
        x = self._pending[0] if len(self._pending) == 1 else np.concatenate(self._pending)
        self._pending, self._pending_n = [], 0
        x = np.asarray(x, dtype=np.float32)
        self.n += x.size
        self._peak = max(self._peak, float(max(x.max(), -x.min())))
        self._tp.feed(x, self._peak)
        if self.cut_short:
            return
        self._loud.feed(x)
        self._clip.feed(x, self._peak, float(max(x.max(), -x.min())))
        self._frames.feed(x)
        if self._enough_above is not None and self._tp.peak > self._enough_above:
            self.cut_short = True


class _HopMeter:
    """K-weighted energy per 100 ms hop of a mono stream: :func:`audio.loudness.hop_energies`."""

    def __init__(self, sr: int) -> None:
        self.sr = sr
        self._filter = SosFilter(k_weighting_sos(sr))
        self._held = np.empty(0, dtype=np.float32)  # K-weighted, from the next hop's start
        self._hops = 0  # complete hops so far
        self._energy: list[np.ndarray] = []
        self._whole = 0.0

    def _bound(self, k: int) -> int:
        return round(k * (self.sr / _HOPS_PER_SECOND))

    def feed(self, x: np.ndarray) -> None:
        y = self._filter(x, dtype=np.float32)
        held = np.concatenate([self._held, y]) if self._held.size else y
        start = self._bound(self._hops)
        if self.sr % _HOPS_PER_SECOND == 0:
            hop = self.sr // _HOPS_PER_SECOND
            k = held.size // hop
            rows = held[: k * hop].reshape(k, hop)
            sums = np.einsum("ij,ij->i", rows, rows).astype(np.float64)
            self._whole += float(sums.sum())
            used = k * hop
        else:
            k = 0
            while self._bound(self._hops + k + 1) - start <= held.size:
                k += 1
            rel = np.array([self._bound(self._hops + j) - start for j in range(k + 1)])
            used = int(rel[-1])
            sq = np.square(held[:used], dtype=np.float64)
            cs = np.concatenate(([0.0], np.cumsum(sq)))
            sums = cs[rel[1:]] - cs[rel[:-1]]
            self._whole += float(sq.sum())
        self._energy.append(sums)
        self._hops += k
        self._held = held[used:].copy()

    def finish(self, n: int) -> HopEnergies:
        tail = self._held.astype(np.float64)
        whole = self._whole + float(np.dot(tail, tail))
        n_hops = (n * _HOPS_PER_SECOND) // self.sr  # a rounded last bound may pass n: not a hop
        energy = np.concatenate([np.empty(0), *self._energy])[:n_hops]
        bounds = np.round(np.arange(n_hops + 1) * (self.sr / _HOPS_PER_SECOND)).astype(np.int64)
        return HopEnergies(energy=energy, bounds=bounds, whole=whole / max(n, 1), n=n, sr=self.sr)


class _TruePeak:
    """Largest true peak of a stream, each sample evaluated with its full context; with
    ``over``, also the samples whose envelope exceeds it."""

    def __init__(self, sr: int, over: float | None) -> None:
        self.sr = sr
        self.peak = 0.0
        self._over = over
        self._found: list[tuple[np.ndarray, np.ndarray]] = []
        self._held = np.empty(0, dtype=np.float32)
        self._start = 0  # the stream's index of `_held[0]`
        self._first = 0  # index in `_held` of the first sample not yet evaluated

    def overs(self) -> tuple[np.ndarray, np.ndarray]:
        idx = [np.empty(0, dtype=np.int64), *(f[0] for f in self._found)]
        val = [np.empty(0, dtype=np.float32), *(f[1] for f in self._found)]
        return np.concatenate(idx), np.concatenate(val)

    def feed(self, x: np.ndarray, floor: float) -> None:
        seg = np.concatenate([self._held, x]) if self._held.size else x
        stop = seg.size - _TP_CONTEXT  # later samples wait for their right context
        if stop > self._first:
            self._evaluate(seg, self._first, stop, floor)
        first = max(self._first, stop)
        keep_from = max(0, first - _TP_CONTEXT)  # the left context of the next to evaluate
        self._first = first - keep_from
        self._start += keep_from
        self._held = seg[keep_from:].copy()

    def finish(self) -> None:
        """The last samples, with the zeros after the end that the whole-array version sees."""
        if self._held.size > self._first:
            self._evaluate(self._held, self._first, self._held.size, self.peak)
        self._held = np.empty(0, dtype=np.float32)
        self._first = 0

    def _evaluate(self, seg: np.ndarray, lo: int, hi: int, floor: float) -> None:
        # below the sample peak so far nothing can raise the result: only blocks that may
        # exceed it are interpolated
        threshold = max(self.peak, floor)
        if self._over is not None:
            threshold = min(threshold, self._over)
        env = true_peak_envelope(seg, self.sr, threshold=threshold)[lo:hi]
        self.peak = max(self.peak, float(env.max()))
        if self._over is not None:
            hit = np.flatnonzero(env > self._over)
            self._found.append((hit + (self._start + lo), env[hit]))


class _ClipMeter:
    """:func:`audio.analysis.clipped_share` of a stream (see the module docstring)."""

    def __init__(self) -> None:
        # |x| with two samples of padding (-1: never near a peak) before the stream's start
        self._held = np.full(2, -1.0, dtype=np.float32)
        self._values = np.empty(0, dtype=np.float32)  # distinct window-minimum maxima
        self._counts = np.empty(0, dtype=np.int64)

    def feed(self, x: np.ndarray, peak: float, block_peak: float) -> None:
        level = max(peak, _CLIP_MIN_PEAK) * _CLIP_LEVEL
        if max(block_peak, float(self._held.max())) < level:
            # nothing here is near the peak so far, so nothing can count at the final one
            self._held = np.concatenate([self._held, np.abs(x[-4:])])[-4:]
            return
        a = np.concatenate([self._held, np.abs(x)])
        self._take(a, peak)
        self._held = a[-4:]

    def finish(self) -> None:
        """The last two samples, with two samples of padding after the end."""
        self._take(np.concatenate([self._held, np.full(2, -1.0, dtype=np.float32)]), 0.0)
        self._held = np.empty(0, dtype=np.float32)

    def _take(self, a: np.ndarray, peak: float) -> None:
        """Samples ``a[2:-2]``, each with its two neighbours either side in ``a``."""
        if a.size < 5:
            return
        w = np.minimum(np.minimum(a[:-2], a[1:-1]), a[2:])  # w[k] = min(a[k .. k+2])
        q = np.maximum(np.maximum(w[:-2], w[1:-1]), w[2:])  # sample a[i+2]: windows i .. i+2
        # the final peak is not below the peak so far, and below 0.5 nothing counts
        level = max(peak, _CLIP_MIN_PEAK) * _CLIP_LEVEL
        near = q[q >= level]
        if near.size == 0 and self._values.size == 0:
            return
        values, counts = np.unique(near, return_counts=True)
        merged = np.concatenate([self._values, values])
        weights = np.concatenate([self._counts, counts])
        self._values, inverse = np.unique(merged, return_inverse=True)
        self._counts = np.bincount(inverse, weights=weights).astype(np.int64)
        keep = self._values >= level
        self._values, self._counts = self._values[keep], self._counts[keep]

    def share(self, peak: float, n: int) -> float:
        if n == 0 or peak < _CLIP_MIN_PEAK:
            return 0.0
        flagged = int(self._counts[self._values >= peak * _CLIP_LEVEL].sum())
        return float(flagged / n)


class _FrameLevels:
    """The 20 ms frame levels of :func:`audio.analysis.frame_levels_db`, gathered as they come."""

    def __init__(self, sr: int) -> None:
        self.sr = sr
        self._held = np.empty(0, dtype=np.float32)
        self._levels: list[np.ndarray] = []

    def feed(self, x: np.ndarray) -> None:
        held = np.concatenate([self._held, x]) if self._held.size else x
        levels, hop = frame_levels_db(held, self.sr)
        self._levels.append(levels)
        self._held = held[levels.size * hop :].copy()

    def levels(self) -> np.ndarray:
        return np.concatenate([np.empty(0), *self._levels])
