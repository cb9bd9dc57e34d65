"""Frequency bands for the denoiser: single STFT bins up to 8 kHz, groups of bins above.

Speech above 8 kHz (fricatives, air) needs no 31 Hz resolution, so at 32-48 kHz the noise
tracker and the gain rule work on bands of ``group`` bins there; this halves their cost at
48 kHz and changes nothing at 16 kHz or below. Each band's power is the mean of its bins'
periodograms and its gain is applied to all of its bins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from audio.samples import ComplexArray, FloatArray


@dataclass(frozen=True)
class BandLayout:
    """Bins ``[0, split)`` stay single; the rest are pooled ``group`` at a time."""

    n_bins: int
    split: int
    group: int

    @property
    def n_groups(self) -> int:
        return (self.n_bins - self.split) // self.group

    @property
    def tail(self) -> int:
        """Bins left over after the last full group (pooled into one last band)."""
        return self.n_bins - self.split - self.n_groups * self.group

    @property
    def n_bands(self) -> int:
        return self.split + self.n_groups + (1 if self.tail else 0)


def layout_for(n_bins: int, bin_hz: float, split_hz: float = 8000.0, group: int = 4) -> BandLayout:
    """Single bins below ``split_hz``, bands of ``group`` bins above it."""
    split = min(n_bins, round(split_hz / bin_hz) + 1)
    return BandLayout(n_bins=n_bins, split=split, group=group)


def column_at(layout: BandLayout, bin_hz: float, hz: float) -> int:
    """The first column (single bin or band) of ``layout`` at or above ``hz``."""
    k = max(0, math.ceil(hz / bin_hz - 1e-9))
    if k <= layout.split:
        return min(k, layout.n_bands)
    return min(layout.split + -(-(k - layout.split) // layout.group), layout.n_bands)


def band_power(spec: ComplexArray, layout: BandLayout) -> FloatArray:
    """Mean periodogram ``|Y|^2`` of each band, shape ``(frames, n_bands)``."""
    T = spec.shape[0]
    s, m, g = layout.split, layout.group, layout.n_groups
    sq = spec.view(np.float32)  # real, imag interleaved
    sq = sq * sq
    P = sq[:, 0::2]
    P += sq[:, 1::2]  # |Y|^2 per bin, written over the real parts
    if layout.n_bands == layout.n_bins:
        return np.ascontiguousarray(P)
    out = np.empty((T, layout.n_bands), dtype=np.float32)
    out[:, :s] = P[:, :s]
    if g:
        pooled = out[:, s : s + g]
        np.add(P[:, s : s + g * m : m], P[:, s + 1 : s + g * m : m], out=pooled)
        for r in range(2, m):
            pooled += P[:, s + r : s + g * m : m]
        pooled *= np.float32(1.0 / m)
    if layout.tail:
        out[:, -1] = np.mean(P[:, s + g * m :], axis=1)
    return out


def apply_gain(spec: ComplexArray, gain: FloatArray, layout: BandLayout) -> None:
    """Multiply every bin of ``spec`` by its band's ``gain``, in place."""
    if layout.n_bands == layout.n_bins:
        spec *= gain
        return
    widths = [1] * layout.split + [layout.group] * layout.n_groups
    if layout.tail:
        widths.append(layout.tail)
    spec *= np.repeat(gain, widths, axis=1)
