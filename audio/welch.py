"""Welch's averaged periodogram (Welch 1967), the long-term power spectrum hum detection reads.

Numpy only: the numbers of ``scipy.signal.welch(x, sr, nperseg=n, noverlap=n // 2)`` (periodic
Hann window, each segment less its mean, one-sided density in power per hertz, the mean over
segments) without importing ``scipy.signal``, which is too heavy for the controller (see
:mod:`audio.iir`). Segments are transformed one at a time, so a long input costs one
segment's memory.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["welch"]

F64 = npt.NDArray[np.float64]


def welch(x: npt.ArrayLike, sr: int, *, nperseg: int) -> tuple[F64, F64]:
    """``(frequencies, density)`` of mono ``x``, ``nperseg // 2 + 1`` bins each.

    Segments of ``nperseg`` samples overlap by half; the last partial segment is left out.
    With the periodic Hann window ``w``, segment ``s`` (less its mean) gives
    ``|FFT(s·w)|² / (sr · Σw²)``, doubled on every bin but DC (and Nyquist, for an even length)
    so the one-sided density integrates to the signal's power.
    """
    y = np.asarray(x, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"mono samples of shape (n,) expected, got {y.shape}")
    if not 0 < nperseg <= y.shape[0]:
        raise ValueError(f"segment of {nperseg} samples for a signal of {y.shape[0]}")
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(nperseg) / nperseg)
    step = nperseg - nperseg // 2
    starts = range(0, y.shape[0] - nperseg + 1, step)
    total = np.zeros(nperseg // 2 + 1, dtype=np.float64)
    for lo in starts:
        seg = y[lo : lo + nperseg]
        spec = np.fft.rfft((seg - seg.mean()) * w)
        total += spec.real**2 + spec.imag**2
    density = total / (len(starts) * sr * float(np.sum(w * w)))
    density[1 : None if nperseg % 2 else -1] *= 2.0
    freqs = np.fft.rfftfreq(nperseg, 1.0 / sr)
    return np.asarray(freqs, dtype=np.float64), np.asarray(density, dtype=np.float64)
