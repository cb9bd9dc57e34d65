"""What ``denoise = "neural"`` runs: DeepFilterNet3 (:mod:`audio.neural`) combined with the
numpy/scipy denoiser (:mod:`audio.denoise`) as the benchmark found best
(``python -m bench.denoise_quality``, BENCHMARKS.md "Neural option").

Modes, all measured on the same corpus:

* ``"alone"``: DeepFilterNet3's output;
* ``"then_ours"``: :func:`audio.denoise.denoise` after it, for residual stationary noise and hum;
* ``"floor"``: its output plus the input :data:`FLOOR_GAIN` down (-20 dB): an attenuation limit,
  so speech the model takes for noise is never removed entirely;
* ``"no_harm"``: ``"floor"``, except where :mod:`audio.denoise` decides the background is
  speech-like (TV, radio, talkers) and leaves the recording as it is;
* ``"pick"``: per recording, by what :mod:`audio.denoise` finds: where it finds a speech-like
  background, wind (8 % of the time) or many short loud sounds (1.2 a second), what a blind
  statistical method cannot separate,
  ``"floor"``; where the noise is steady (fan, engine, rain) or mains hum is found, its own
  output, which scores
  higher there, and DeepFilterNet3 is not run at all.

:data:`MODE` is the winner.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from audio.denoise import denoise_with_actions
from audio.neural import denoise_neural
from audio.samples import FloatArray

Mode = Literal["alone", "then_ours", "floor", "no_harm", "pick"]
MODE: Mode = "pick"
FLOOR_GAIN = np.float32(0.1)
# "pick": what counts as wind or short loud sounds. Speech alone, in clean recordings, makes a
# few of each (onsets after pauses: 0.6-0.9 a second, gusts under 5 % of the time); a dog or a
# rooster makes twice as many, wind fills a tenth of the time or more (bench corpus).
_WINDY_SHARE = 0.08
_TRANSIENTS_PER_S = 1.2


def denoise_choice(
    x: FloatArray, sr: int, *, neural: FloatArray | None = None, mode: Mode = MODE
) -> FloatArray:
    """The neural option on mono float32 ``x``; ``neural`` is DeepFilterNet3's output on ``x``
    if already computed (the benchmark reuses one pass for every mode)."""
    return denoise_choice_codes(x, sr, neural=neural, mode=mode)[0]


def denoise_choice_codes(
    x: FloatArray, sr: int, *, neural: FloatArray | None = None, mode: Mode = MODE
) -> tuple[FloatArray, list[str]]:
    """:func:`denoise_choice` and the report codes of what was done (``neural``, or
    ``left_speech_like`` when the recording was left as it is)."""
    if mode == "no_harm":
        _, actions = denoise_with_actions(x, sr)
        if actions.speech_like_background:
            return x, ["left_speech_like"]
    if mode == "pick":
        ours, actions = denoise_with_actions(x, sr)
        seconds = max(x.shape[0] / sr, 1e-3)
        # mains hum has its own treatment in ours, which no mask matches
        hard = actions.hum is None and (
            actions.speech_like_background
            or actions.windy_s >= _WINDY_SHARE * seconds
            or actions.transients >= _TRANSIENTS_PER_S * seconds
        )
        if not hard:
            return np.asarray(ours, dtype=np.float32), ["neural_chose_standard", *actions.codes()]
        mode = "floor"
    y = neural if neural is not None else denoise_neural(x, sr)
    if mode == "then_ours":
        z, actions = denoise_with_actions(y, sr)
        return np.asarray(z, dtype=np.float32), ["neural", *actions.codes()]
    if mode in ("floor", "no_harm"):
        y = (y + FLOOR_GAIN * x).astype(np.float32)
    return y, ["neural"]
