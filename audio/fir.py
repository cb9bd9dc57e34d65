"""FIR low-pass design and polyphase rate change, in numpy alone.

These are the two pieces of ``scipy.signal`` that resampling and the true-peak meter use
(``firwin`` with a Kaiser window and ``resample_poly``); ``scipy.signal`` itself is too heavy
an import for the controller and ``loa process`` (see :mod:`audio.iir`). Both give scipy's
numbers: the taps to about 1e-16, the rate change to float32 precision (the sums run in
another order).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["kaiser_lowpass", "resample_poly"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def kaiser_lowpass(numtaps: int, cutoff: float, beta: float) -> F64:
    """Windowed-sinc low-pass: ``scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta))``.

    ``cutoff`` is relative to the Nyquist frequency (0 < cutoff < 1). The ideal response
    ``cutoff · sinc(cutoff · m)`` around the centre ``m = 0`` is multiplied by the symmetric
    Kaiser window ``I0(β·√(1 − (2k/(N−1) − 1)²)) / I0(β)`` and scaled to unit gain at DC.
    """
    if numtaps < 1:
        raise ValueError(f"a filter needs at least one tap, got {numtaps}")
    if not 0.0 < cutoff < 1.0:
        raise ValueError(f"cutoff {cutoff} must lie between 0 and 1 (the Nyquist frequency)")
    m = np.arange(numtaps, dtype=np.float64) - 0.5 * (numtaps - 1)
    h = cutoff * np.sinc(cutoff * m)
    h *= np.kaiser(numtaps, beta)
    out: F64 = h / h.sum()
    return out


def resample_poly(x: F32, up: int, down: int, taps: F32) -> F32:
    """``scipy.signal.resample_poly(x, up, down, window=taps)`` for mono float32 ``x``.

    Upsample by ``up`` (zeros between samples), filter with ``up · taps`` centred on its middle
    tap, keep every ``down``-th sample: ``ceil(n · up / down)`` samples, zeros assumed outside
    ``x``. Written per phase: output ``i`` uses the taps ``r, r + up, r + 2·up, …`` with
    ``r = (i·down + half) mod up`` against the input ending at ``(i·down + half) // up``, so
    the outputs of one phase are a matrix–vector product over a strided view of the input
    (no upsampled copy is made; ``up · len(x)`` multiplications are never done).
    """
    if up < 1 or down < 1:
        raise ValueError(f"up and down must be ≥ 1, got {up} and {down}")
    n = x.shape[0]
    n_out = -(-n * up // down)
    if n_out == 0:
        return np.zeros(0, dtype=np.float32)
    h = (np.asarray(taps, dtype=np.float32) * np.float32(up)).astype(np.float32)
    half = (h.shape[0] - 1) // 2
    most = -(-h.shape[0] // up)  # taps of the longest phase
    last = ((n_out - 1) * down + half) // up  # input index the last output ends at
    front = most - 1
    xp = np.zeros(front + max(n, last + 1), dtype=np.float32)
    xp[front : front + n] = x
    out = np.empty(n_out, dtype=np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(xp, most)
    for i0 in range(min(up, n_out)):
        t0 = i0 * down + half
        r, base = t0 % up, t0 // up
        phase = h[r::up][::-1]  # oldest input first
        count = len(range(i0, n_out, up))
        # windows[w] is xp[w : w + most]; output i0 + s·up needs the phase's taps against
        # the input up to base + s·down, i.e. the last k samples of window start + s·down
        k = phase.shape[0]
        start = front + base - most + 1
        rows = windows[start : start + (count - 1) * down + 1 : down, most - k :]
        out[i0::up] = rows @ phase
    return out
