"""The one shape convention of the audio package, and the checks that enforce it.

Signals are ``numpy`` arrays of ``float32`` samples, nominal full scale ±1.0:

* **mono** ``(n,)`` everywhere in the processing chain;
* **multichannel** ``(n, channels)`` (frames first, like soundfile/sounddevice) only where a
  function says so, e.g. the loudness meter, which must handle the stereo and 5-channel EBU
  test signals.

The sample rate is always passed explicitly as an ``int`` in hertz. :data:`FloatArray` names
the sample arrays in type hints (:data:`ComplexArray` their spectra).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import numpy.typing as npt

from audio.errors import AudioError

FloatArray = npt.NDArray[np.float32]
ComplexArray = npt.NDArray[np.complex64]

MIN_RATE = 4000
MAX_RATE = 384000


def check_rate(sr: int) -> int:
    """Return ``sr`` as an int after checking that it is a plausible audio sample rate."""
    if isinstance(sr, bool) or not isinstance(sr, int | np.integer):
        raise AudioError(f"sample rate must be an integer number of hertz, got {sr!r}")
    if not MIN_RATE <= int(sr) <= MAX_RATE:
        raise AudioError(f"sample rate {sr} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    return int(sr)


def as_mono(x: np.ndarray) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32 mono array of shape ``(n,)``.

    Accepts ``(n,)`` or a single-column ``(n, 1)``; anything else is an error naming the shape,
    so a stereo array is never silently read as one long mono signal.
    """
    a = np.asarray(x)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise AudioError(
            f"expected mono samples of shape (n,), got shape {a.shape}; "
            "mix multichannel audio down first (audio.decode.to_mono)"
        )
    if not np.issubdtype(a.dtype, np.floating) and not np.issubdtype(a.dtype, np.integer):
        raise AudioError(f"expected numeric samples, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float32)


def as_frames(x: np.ndarray) -> np.ndarray:
    """Return ``x`` as float array of shape ``(n, channels)``; ``(n,)`` becomes ``(n, 1)``."""
    a = np.asarray(x)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise AudioError(f"expected samples of shape (n,) or (n, channels), got {a.shape}")
    if a.shape[1] > 64 and a.shape[0] <= 64:
        raise AudioError(
            f"got shape {a.shape}: looks like (channels, n); pass (n, channels) instead"
        )
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
    return a


def reblock(blocks: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """The concatenation of mono ``blocks`` (any sizes) in pieces of exactly ``size`` samples,
    the last one shorter: what an encoder fed whole arrays in fixed frames gets, from a signal
    that arrives in pieces. Holds less than two pieces' worth; a piece is valid until the next."""
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    held: list[np.ndarray] = []
    n = 0
    for block in blocks:
        held.append(as_mono(block))
        n += held[-1].size
        if n < size:
            continue
        joined = np.concatenate(held) if len(held) > 1 else held[0]
        whole = n // size * size
        for start in range(0, whole, size):
            yield joined[start : start + size]
        rest = joined[whole:]
        held, n = ([rest] if rest.size else []), rest.size
    if n:
        yield np.concatenate(held)


def check_finite(x: np.ndarray) -> None:
    """Raise :class:`AudioError` if ``x`` holds NaN or infinite samples."""
    # max and min propagate NaN and show ±inf: no full-length mask for a long recording
    if x.size and not (np.isfinite(x.max()) and np.isfinite(x.min())):
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise AudioError(f"the audio has {bad} NaN or infinite samples")


def db(value: float) -> float:
    """``20·log10(value)`` in dB, ``-inf`` for zero."""
    return float(20.0 * np.log10(value)) if value > 0 else float("-inf")


def db_to_gain(value_db: float) -> float:
    """Linear amplitude factor for a gain in dB."""
    return float(10.0 ** (value_db / 20.0))
