"""``E1(v) / 2``, the exponential-integral term of the MMSE log-spectral amplitude gain
(Ephraim & Malah 1985, eq. 20), by table look-up for :mod:`audio.denoise`."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.special

from audio.samples import FloatArray


@lru_cache(maxsize=1)
def _half_e1_table() -> tuple[float, float, FloatArray]:
    """``E1(v) / 2`` on a uniform grid of ``ln v`` (scipy's ``exp1`` is too slow per bin)."""
    lo, hi, n = -14.0, 6.0, 4097
    ln_v = np.linspace(lo, hi, n)
    table = (0.5 * scipy.special.exp1(np.exp(ln_v))).astype(np.float32)
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
