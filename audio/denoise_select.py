"""Which denoiser runs: the numpy/scipy one (:mod:`audio.denoise`, the default everywhere) or
the neural option (:mod:`audio.neural_choice`), with the automatic fallback to the default
when the neural one cannot run here or is too slow on this machine.

The report codes say which ran and why (:mod:`audio.report` turns them into plain words):
``neural`` when it ran; ``neural_missing`` or ``neural_slow`` before the default's own codes
when it was asked for and the default ran instead.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from typing import Literal

import numpy as np

from audio.samples import FloatArray, as_mono

log = logging.getLogger(__name__)

DenoiseMethod = Literal["standard", "neural"]
_PROBE_S = 2.0
_PROBE_RATE = 16000


@lru_cache(maxsize=1)
def neural_speed() -> float:
    """The neural denoiser's real-time factor here (seconds of work per second of audio),
    measured once per process on two seconds of noise (after the model is loaded, which
    costs about a second once). Raises :class:`audio.neural.NeuralUnavailableError`."""
    from audio.neural import denoise_neural

    rng = np.random.default_rng(0)
    probe = (0.05 * rng.standard_normal(int(_PROBE_S * _PROBE_RATE))).astype(np.float32)
    denoise_neural(probe[: _PROBE_RATE // 10], _PROBE_RATE)  # load the model first
    t0 = time.perf_counter()
    denoise_neural(probe, _PROBE_RATE)
    return (time.perf_counter() - t0) / _PROBE_S


def run_denoiser(
    x: np.ndarray, sr: int, method: DenoiseMethod = "standard", max_rtf: float = 1.0
) -> tuple[FloatArray, list[str]]:
    """Denoise mono ``x`` with ``method``; returns the samples and the report codes."""
    before: list[str] = []
    if method == "neural":
        reason = _neural_unusable(max_rtf)
        if reason is None:
            from audio.neural_choice import denoise_choice_codes

            return denoise_choice_codes(as_mono(x), sr)
        before = [reason]
    y, codes = _standard(x, sr)
    return y, before + codes


def _neural_unusable(max_rtf: float) -> str | None:
    """None if the neural denoiser can run within ``max_rtf``, else the fallback's code."""
    from audio.neural import NeuralUnavailableError

    try:
        rtf = neural_speed()
    except NeuralUnavailableError as e:
        log.warning("neural denoiser unavailable (%s); using the standard one", e)
        return "neural_missing"
    if rtf > max_rtf:
        log.warning(
            "neural denoiser too slow here (%.2f s per s of audio, limit %.2f); using the "
            "standard one",
            rtf,
            max_rtf,
        )
        return "neural_slow"
    return None


def _standard(x: np.ndarray, sr: int) -> tuple[FloatArray, list[str]]:
    """The default denoiser, imported lazily so the chain works while the module is absent."""
    try:
        from audio.denoise import denoise_with_actions
    except ImportError:
        log.warning("audio.denoise is not available; skipping noise reduction")
        return as_mono(x), []
    y, actions = denoise_with_actions(x, sr)
    return as_mono(y), actions.codes()
