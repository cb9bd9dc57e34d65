"""Sliding-window filters in numpy, with exactly the numbers of their ``scipy.ndimage`` namesakes.

``import scipy.ndimage`` costs `loa process` about 0.15 s of start-up (its array-API layer pulls
in ``scipy.special`` and parts of ``numpy`` the chain never uses), which a broadcaster waits
for on every recording. The chain needs only a handful of one-dimensional filters from it, and
each is reproduced here in the order of operations of scipy's C code (``ni_filters.c``), so
the results are bit-for-bit the same (``tests/audio/test_running.py`` compares them):

* the running mean is scipy's running sum in float64: the first window summed left to right,
  then ``x[i + size] - x[i]`` added per step, each sum divided by the size: a sequential
  cumulative sum (``np.cumsum`` adds left to right; ``np.sum`` is pairwise). (scipy 1.17's
  sums are divided as they are output; the per-step division of older releases differs in
  the last bit, and the test would say so);
* a symmetric correlation is ``x[0]·w[0]`` plus ``(x[-j] + x[j])·w[-j]`` from the outermost
  tap inwards, in float64;
* minima, maxima and medians pick one of the window's values, so any order gives them.

Boundaries are scipy's ``mode="nearest"`` (edge values repeated) or ``"constant"`` (``cval``);
``origin`` shifts the window as scipy's does. Results have the input's dtype, as scipy's do.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

Mode = Literal["nearest", "constant"]


def _padded(
    x: np.ndarray,
    size: int,
    axis: int,
    *,
    mode: Mode,
    origin: int,
    cval: float = 0.0,
    dtype: npt.DTypeLike | None = None,
) -> np.ndarray:
    """``x`` extended along ``axis`` as scipy's line buffer is (window ``i`` is ``[i, i + size)``
    of the result), as ``dtype`` (default: ``x``'s). Written in place: ``np.pad`` costs more
    than the filters here."""
    if size < 1:
        raise ValueError(f"filter size must be at least 1, not {size}")
    before = size // 2 + origin
    after = size - size // 2 - 1 - origin
    if before < 0 or after < 0:
        raise ValueError(f"origin {origin} outside the window of {size}")
    n = x.shape[axis]
    shape = list(x.shape)
    shape[axis] = n + size - 1
    xe = np.empty(shape, dtype=x.dtype if dtype is None else dtype)
    _shifted(xe, before, n, axis)[...] = x
    head, tail = _shifted(xe, 0, before, axis), _shifted(xe, before + n, after, axis)
    if mode == "nearest":
        head[...] = _shifted(x, 0, 1, axis)
        tail[...] = _shifted(x, n - 1, 1, axis)
    else:
        head[...] = cval
        tail[...] = cval
    return xe


def _shifted(xe: np.ndarray, k: int, n: int, axis: int) -> np.ndarray:
    """``xe[k : k + n]`` along ``axis`` (a view)."""
    index: list[slice] = [slice(None)] * xe.ndim
    index[axis] = slice(k, k + n)
    return xe[tuple(index)]


def _float(x: npt.ArrayLike) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind != "f":
        raise TypeError(f"floating-point input expected, not {a.dtype}")
    if a.size == 0:
        raise ValueError("empty input")
    return a


def uniform_filter1d(
    x: npt.ArrayLike, size: int, *, axis: int = -1, mode: Mode = "nearest", origin: int = 0
) -> np.ndarray:
    """``scipy.ndimage.uniform_filter1d``: the mean of each window of ``size``."""
    a = _float(x)
    axis = axis % a.ndim
    n = a.shape[axis]
    xe = _padded(a, size, axis, mode=mode, origin=origin, dtype=np.float64)
    # scipy: tmp = the first window summed left to right; then per step
    # tmp += x[i + size] - x[i]; each output tmp / size: the same operations in the same order
    sums = np.empty(a.shape, dtype=np.float64)
    first = _shifted(sums, 0, 1, axis)
    first[...] = _shifted(xe, 0, 1, axis)
    for k in range(1, size):
        first += _shifted(xe, k, 1, axis)
    if n > 1:
        np.subtract(
            _shifted(xe, size, n - 1, axis),
            _shifted(xe, 0, n - 1, axis),
            out=_shifted(sums, 1, n - 1, axis),
        )
    np.cumsum(sums, axis=axis, out=sums)
    if a.dtype == np.float64:
        sums /= float(size)
        return sums
    out = np.empty(a.shape, dtype=a.dtype)
    np.divide(sums, float(size), out=out, casting="same_kind")  # in float64, then rounded
    return out


def _extreme(
    a: np.ndarray, size: int, pick: np.ufunc, *, axis: int, mode: Mode, origin: int, cval: float
) -> np.ndarray:
    axis = axis % a.ndim
    n = a.shape[axis]
    xe = _padded(a, size, axis, mode=mode, origin=origin, cval=cval)
    out = _shifted(xe, 0, n, axis).copy()
    for k in range(1, size):  # size passes over n: the windows here are a few samples long
        pick(out, _shifted(xe, k, n, axis), out=out)
    return out


def minimum_filter1d(
    x: npt.ArrayLike,
    size: int,
    *,
    axis: int = -1,
    mode: Mode = "nearest",
    origin: int = 0,
    cval: float = 0.0,
) -> np.ndarray:
    """``scipy.ndimage.minimum_filter1d`` (finite input: NaN ordering is not reproduced)."""
    return _extreme(_float(x), size, np.minimum, axis=axis, mode=mode, origin=origin, cval=cval)


def maximum_filter1d(
    x: npt.ArrayLike,
    size: int,
    *,
    axis: int = -1,
    mode: Mode = "nearest",
    origin: int = 0,
    cval: float = 0.0,
) -> np.ndarray:
    """``scipy.ndimage.maximum_filter1d`` (finite input: NaN ordering is not reproduced)."""
    return _extreme(_float(x), size, np.maximum, axis=axis, mode=mode, origin=origin, cval=cval)


def median_filter(x: npt.ArrayLike, size: int) -> np.ndarray:
    """``scipy.ndimage.median_filter(x, size, mode="nearest")`` of a 1-D ``x``: the value of
    rank ``size // 2`` in each window."""
    a = _float(x)
    if a.ndim != 1:
        raise ValueError(f"1-D input expected, not shape {a.shape}")
    windows = np.lib.stride_tricks.sliding_window_view(
        _padded(a, size, 0, mode="nearest", origin=0), size
    )
    rank = size // 2
    out: np.ndarray = np.partition(windows, rank, axis=-1)[:, rank]
    return out


def correlate1d_symmetric(
    x: npt.ArrayLike, weights: npt.ArrayLike, *, axis: int = -1, mode: Mode = "nearest"
) -> np.ndarray:
    """``scipy.ndimage.correlate1d`` with an odd, symmetric kernel (scipy's symmetric branch:
    ``x[0]·w[0]`` first, then ``(x[-j] + x[j])·w[-j]`` from the outermost pair inwards)."""
    a = _float(x)
    w = np.asarray(weights, dtype=np.float64)
    half = w.size // 2
    if w.ndim != 1 or w.size % 2 == 0 or np.any(np.abs(w - w[::-1]) > np.finfo(np.float64).eps):
        raise ValueError("an odd, symmetric kernel is expected")
    axis = axis % a.ndim
    n = a.shape[axis]
    xe = _padded(a, w.size, axis, mode=mode, origin=0, dtype=np.float64)
    acc = np.multiply(_shifted(xe, half, n, axis), w[half])
    pair = np.empty_like(acc)
    for k in range(half):  # jj = -half .. -1 in scipy's loop: left tap k, right tap 2·half - k
        np.add(_shifted(xe, k, n, axis), _shifted(xe, 2 * half - k, n, axis), out=pair)
        pair *= w[k]
        acc += pair
    out: np.ndarray = acc.astype(a.dtype, copy=False)
    return out


def gaussian_filter1d(x: npt.ArrayLike, sigma: float, *, mode: Mode = "nearest") -> np.ndarray:
    """``scipy.ndimage.gaussian_filter1d(x, sigma, mode=mode)`` along the last axis (order 0,
    truncated at 4 sigma): scipy's kernel, built as scipy builds it, correlated."""
    radius = int(4.0 * float(sigma) + 0.5)
    t = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (float(sigma) * float(sigma)) * t**2)
    phi = phi / phi.sum()
    return correlate1d_symmetric(x, phi[::-1], mode=mode)


def label_runs(mask: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """``scipy.ndimage.label(mask)[0]`` of a 1-D mask: each run of True numbered from 1 in
    order, 0 elsewhere."""
    m = np.asarray(mask, dtype=np.bool_)
    if m.ndim != 1:
        raise ValueError(f"1-D mask expected, not shape {m.shape}")
    starts = m.copy()
    starts[1:] &= ~m[:-1]
    labels: npt.NDArray[np.intp] = np.cumsum(starts, dtype=np.intp)
    labels[~m] = 0
    return labels
