"""``audio.running`` gives ``scipy.ndimage``'s numbers bit for bit (the chain's output must not
move when the import goes): every filter the chain used, on the shapes, sizes, origins, modes
and dtypes it used them with, and on edge lengths (1, shorter than the window)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage

from audio import running

Mode = running.Mode
_MODES: tuple[Mode, ...] = ("nearest", "constant")
_LENGTHS = (1, 2, 3, 7, 50, 1001)
_SIZES = (1, 2, 3, 4, 5, 9, 11, 63)


def _signal(n: int, dtype: type[np.floating], seed: int) -> np.ndarray:
    """Values over six decades: a running sum's rounding shows where magnitudes differ."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)).astype(dtype)


def _origins(size: int) -> list[int]:
    return sorted({0, -(size // 2), (size - 1) // 2})


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    np.testing.assert_array_equal(a, b, strict=True)
    assert a.tobytes() == b.tobytes()  # bit for bit, signed zeros included


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", _LENGTHS)
def test_running_mean_minimum_and_maximum_match_scipy(dtype: type[np.floating], n: int) -> None:
    x = _signal(n, dtype, n)
    frames = np.abs(_signal(n * 5, dtype, n + 1)).reshape(n, 5)  # (frames, bands), along axis 0
    for size, mode in itertools.product(_SIZES, _MODES):
        for origin in _origins(size):
            for ours, theirs in (
                (running.uniform_filter1d, ndimage.uniform_filter1d),
                (running.minimum_filter1d, ndimage.minimum_filter1d),
                (running.maximum_filter1d, ndimage.maximum_filter1d),
            ):
                _same(
                    ours(x, size, mode=mode, origin=origin),
                    theirs(x, size, mode=mode, origin=origin),
                )
                _same(
                    ours(frames, size, axis=0, mode=mode, origin=origin),
                    theirs(frames, size, axis=0, mode=mode, origin=origin),
                )
                _same(
                    ours(frames, size, axis=1, mode=mode), theirs(frames, size, axis=1, mode=mode)
                )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", _LENGTHS)
def test_median_gaussian_correlation_and_labels_match_scipy(
    dtype: type[np.floating], n: int
) -> None:
    x = _signal(n, dtype, 100 + n)
    for size in (1, 3, 5, 63):
        _same(running.median_filter(x, size), ndimage.median_filter(x, size, mode="nearest"))
    for sigma in (1e-3, 0.5, 1.0, 3.7, 10.0):
        _same(
            running.gaussian_filter1d(x, sigma), ndimage.gaussian_filter1d(x, sigma, mode="nearest")
        )
    bands = np.abs(_signal(n * 40, dtype, 200 + n)).reshape(n, 40)
    window = np.array([0.25, 0.5, 0.25], np.float32)  # audio.noise_estimate's
    _same(
        running.correlate1d_symmetric(bands, window, axis=1),
        ndimage.correlate1d(bands, window, axis=1, mode="nearest"),
    )
    mask = np.random.default_rng(n).random(n) > 0.5
    np.testing.assert_array_equal(running.label_runs(mask), ndimage.label(mask)[0])


def test_the_chains_running_filters_on_its_own_kind_of_input() -> None:
    """The sizes the chain calls them with, on 10 minutes of 32 ms frames."""
    rng = np.random.default_rng(7)
    levels = np.cumsum(rng.standard_normal(37_500)) * 0.1  # a wandering level in dB
    gains = np.clip(rng.random(37_500) * 1.2, 0.0, 1.0)
    _same(running.median_filter(levels, 63), ndimage.median_filter(levels, 63, mode="nearest"))
    _same(
        running.gaussian_filter1d(levels, 5.0),
        ndimage.gaussian_filter1d(levels, 5.0, mode="nearest"),
    )
    for size in (3, 5, 11):
        _same(
            running.uniform_filter1d(gains, size),
            ndimage.uniform_filter1d(gains, size, mode="nearest"),
        )
        _same(
            running.maximum_filter1d(gains, size, origin=-(size // 2), mode="constant"),
            ndimage.maximum_filter1d(gains, size, origin=-(size // 2), mode="constant"),
        )


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        running.uniform_filter1d(np.zeros(4), 0)
    with pytest.raises(ValueError, match="origin"):
        running.maximum_filter1d(np.zeros(4), 3, origin=2)
    with pytest.raises(ValueError, match="symmetric"):
        running.correlate1d_symmetric(np.zeros(4), [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="floating"):
        running.uniform_filter1d(np.zeros(4, dtype=np.int32), 3)
