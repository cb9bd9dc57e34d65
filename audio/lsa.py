"""``E1(v) / 2``, the exponential-integral term of the MMSE log-spectral amplitude gain
(Ephraim & Malah 1985, eq. 20), by table look-up for :mod:`audio.denoise`."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from audio.samples import FloatArray

_EULER_GAMMA = 0.57721566490153286061


def exp1(v: np.ndarray) -> np.ndarray:
    """The exponential integral ``E1(v)`` for ``v > 0`` in float64, within 4·10⁻¹⁵ (relative) of
    ``scipy.special.exp1`` (whose import costs `loa process` a tenth of a second): the power
    series up to 1 (Abramowitz & Stegun 5.1.11), the continued fraction above (5.1.22),
    evaluated from its 200th term back, past where it has converged at ``v = 1``."""
    v = np.asarray(v, dtype=np.float64)
    out = np.empty_like(v)
    small = v <= 1.0
    s = v[small]
    term = np.ones_like(s)  # (-s)^k / k!
    series = np.zeros_like(s)  # sum of (-1)^(k+1) s^k / (k k!)
    for k in range(1, 40):
        term = term * -s / k
        series -= term / k
    out[small] = -_EULER_GAMMA - np.log(s) + series
    b = v[~small]
    tail = np.zeros_like(b)  # E1(b) = e^-b / (b + 1 - 1²/(b + 3 - 2²/(b + 5 - ...)))
    for k in range(200, 0, -1):
        tail = k * k / (b + 2 * k + 1 - tail)
    out[~small] = np.exp(-b) / (b + 1 - tail)
    return out


@lru_cache(maxsize=1)
def _half_e1_table() -> tuple[float, float, FloatArray]:
    """``E1(v) / 2`` on a uniform grid of ``ln v`` (``E1`` itself is too slow per bin); the
    float32 table is scipy's ``exp1``'s to the bit (``tests/audio/test_fft.py``)."""
    lo, hi, n = -14.0, 6.0, 4097
    ln_v = np.linspace(lo, hi, n)
    table = (0.5 * exp1(np.exp(ln_v))).astype(np.float32)
    return lo, (n - 1) / (hi - lo), table


def half_e1(v: FloatArray) -> FloatArray:
    lo, scale, table = _half_e1_table()
    idx = np.log(v)
    idx -= np.float32(lo)
    idx *= np.float32(scale)
    idx += np.float32(0.5)
    np.clip(idx, 0, table.shape[0] - 1, out=idx)
    out: FloatArray = table[idx.astype(np.intp)]
    return out
