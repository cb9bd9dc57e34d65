"""The denoiser's FFTs: scipy's pocketfft, without the ``scipy.fft`` package around it.

``import scipy.fft`` costs `loa process` about 0.13 s of CPU before the denoiser starts: the
package's array-API layer and ``scipy.special`` (for the FFTLog transform), which import parts of
numpy the chain never uses (``numpy.f2py``, ``numpy.testing``). The transforms themselves are
pocketfft's, in the compiled module ``pypocketfft`` that scipy ships inside the package
(``scipy/fft/_pocketfft``); it imports nothing but numpy. Loaded from its file, it gives
``scipy.fft``'s results bit for bit, with the arguments ``scipy.fft`` passes it (its
``_pocketfft/basic.py`` and ``realtransforms.py``). ``numpy.fft`` is no substitute: its float32
forward transform rounds differently, which would move the denoiser's output.

If the module is not where it is expected (another scipy layout), or does not load, the same
functions come from ``scipy.fft`` itself: slower to import, the same numbers.
``tests/audio/test_fft.py`` compares both paths with ``scipy.fft``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_NAME = "scipy.fft._pocketfft.pypocketfft"
# scipy.fft's arguments to pocketfft: normalisation 0 = none (forward, the default "backward"
# norm), 2 = divide by n (inverse); one thread
_NO_NORM, _BY_N, _THREADS = 0, 2, 1


def _load_pocketfft() -> ModuleType | None:
    """scipy's ``pypocketfft`` module from its file, without importing ``scipy.fft``."""
    try:
        spec = importlib.util.find_spec("scipy")  # finds; does not import
        if spec is None or spec.origin is None:
            return None
        folder = Path(spec.origin).parent / "fft" / "_pocketfft"
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = folder / f"pypocketfft{suffix}"
            if path.is_file():
                ext = importlib.util.spec_from_file_location(_NAME, path)
                if ext is None or ext.loader is None:
                    return None
                module = importlib.util.module_from_spec(ext)
                ext.loader.exec_module(module)
                return module if _answers_as_expected(module) else None
    except (ImportError, OSError) as exc:
        log.debug("scipy's pocketfft module did not load on its own: %s", exc)
    return None


def _answers_as_expected(module: ModuleType) -> bool:
    """The private module still takes the arguments this file passes and gives known answers
    (a later scipy may change them): otherwise the public ``scipy.fft`` is used."""
    try:
        x = np.array([1.0, 2.0, 0.0, -1.0], dtype=np.float32)
        spec = module.r2c(x, (0,), True, _NO_NORM, None, _THREADS)
        back = module.c2r(spec, (0,), 4, False, _BY_N, None, _THREADS)
        dct = module.dct(np.array([1.0, 1.0, 1.0]), 1, (0,), _NO_NORM, None, _THREADS, None)
        return (
            np.allclose(spec, [2.0, 1.0 - 3.0j, 0.0])
            and np.allclose(back, x)
            and np.allclose(dct, [4.0, 0.0, 0.0])
            and module.good_size(7, True) == 8
        )
    except Exception as exc:  # a changed signature raises TypeError, other versions anything
        log.debug("scipy's pocketfft module answers differently: %s", exc)
        return False


class _ViaScipyFft:
    """``pypocketfft``'s four calls through ``scipy.fft``'s public functions (the fallback)."""

    def __init__(self) -> None:
        import scipy.fft

        self._fft = scipy.fft

    def r2c(self, a: np.ndarray, axes: tuple[int], *_: Any) -> np.ndarray:
        return np.asarray(self._fft.rfft(a, axis=axes[0]))

    def c2r(self, a: np.ndarray, axes: tuple[int], n: int, *_: Any) -> np.ndarray:
        return np.asarray(self._fft.irfft(a, n=n, axis=axes[0]))

    def dct(self, a: np.ndarray, kind: int, axes: tuple[int], _: int, out: Any, *__: Any) -> Any:
        return self._fft.dct(a, type=kind, axis=axes[0], overwrite_x=out is not None)

    def good_size(self, n: int, real: bool) -> int:
        return int(self._fft.next_fast_len(n, real=real))


_pocketfft: Any = _load_pocketfft() or _ViaScipyFft()


def rfft(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``scipy.fft.rfft(x, axis=axis)`` of real float32/float64 ``x``."""
    a = np.asarray(x)
    if a.dtype.kind != "f" or not a.flags.aligned:
        raise TypeError(f"aligned real floating-point input expected, not {a.dtype}")
    if a.shape[axis] < 1:
        raise ValueError("no data points to transform")
    out: np.ndarray = _pocketfft.r2c(a, (axis,), True, _NO_NORM, None, _THREADS)
    return out


def irfft(spec: np.ndarray, n: int, axis: int = -1) -> np.ndarray:
    """``scipy.fft.irfft(spec, n=n, axis=axis)`` for ``spec`` with ``n // 2 + 1`` bins."""
    a = np.asarray(spec)
    if a.dtype.kind != "c" or a.shape[axis] != n // 2 + 1:
        raise ValueError(f"complex spectra of {n // 2 + 1} bins expected for n = {n}")
    out: np.ndarray = _pocketfft.c2r(a, (axis,), n, False, _BY_N, None, _THREADS)
    return out


def dct1_inplace(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``scipy.fft.dct(x, type=1, axis=axis, overwrite_x=True)`` of a real float array,
    written into ``x`` (returned)."""
    if x.dtype.kind != "f" or not x.flags.aligned or not x.flags.writeable:
        raise TypeError("a writeable, aligned real floating-point array expected")
    out: np.ndarray = _pocketfft.dct(x, 1, (axis,), _NO_NORM, x, _THREADS, None)
    return out


def next_fast_len(n: int) -> int:
    """``scipy.fft.next_fast_len(n, real=True)``: the next length with factors 2, 3 and 5."""
    return int(_pocketfft.good_size(n, True))
