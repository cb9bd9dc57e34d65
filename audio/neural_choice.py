"""What ``denoise = "neural"`` runs: DeepFilterNet3 (:mod:`audio.neural`) combined with the
numpy/scipy denoiser (:mod:`audio.denoise`) as the benchmark found best
(``python -m bench.denoise_quality``, BENCHMARKS.md "The AI option").

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
* ``"mix"``: both denoisers' gains, combined per STFT frame and bin by their geometric mean
  (:func:`mix_gains`): each bin goes down by the mean, in dB, of what the two take off, so a
  bin one of them keeps (speech the model mistakes for noise, noise ours' tracker misses) is
  neither kept whole nor removed. Ours runs in full here: the speech-like background it leaves
  alone on its own (a talker it cannot tell from yours) is suppressed, because the model's gain
  keeps the voice; and where ours finds mains hum, the model runs on the recording with the hum
  cancelled (a mask cannot take out a line under the voice's own harmonics; the cancellation can).

:data:`MODE` is the winner (``"mix"``: mean PESQ-WB 1.87 tune, 1.88 held-out against
DeepFilterNet3's 1.68 and 1.72, BENCHMARKS.md).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from audio import hum
from audio.denoise import denoise_with_actions
from audio.neural import denoise_neural
from audio.noise_estimate import TrackerParams
from audio.samples import FloatArray
from audio.stft import analyse, geometry_for, n_frames, synthesise_into

Mode = Literal["alone", "then_ours", "floor", "no_harm", "pick", "mix"]
MODE: Mode = "mix"
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
    if mode == "mix":
        return _mix(x, sr, neural)
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


# Ours as the mix was chosen with (BENCHMARKS, the AI option): full suppression under a voice-
# like background and under babble, the wind floors and the gain rule it had then. Alone, ours
# keeps a crowd's or a gust's words with shallower floors; averaged with the model's gain they
# only leave noise in (after they came in, the mix fell behind noisereduce-with-a-clip on the
# tune split's babble and wind).
_OURS_IN_MIX: dict[str, Any] = {
    "leave_speech_like": False,
    "babble_floor_db": -28.0,
    "gusty_floor_db": -8.0,
    "alpha_light": 0.8,
    "gusts_under_voice": False,
    # the gain rule before round five: the optimally-modified gain over a -28 dB floor
    "floor_db": -28.0,
    "q_max": 0.95,
    "gain_correction_db": (0.0,) * 6,  # round six's correction neither
    # nor round seven's lighter touch where speech dominates and its cap on the quiet stretch
    "speech_floor_db": -60.0,
    "profile_cap_snr_db": (math.inf, math.inf),
    # nor round ten's whole minimum-statistics window at the recording's ends
    "tracker": TrackerParams(whole_window_at_ends=False),
    # nor round eleven's bound on the quiet stretch's lift by the input beside a frame
    "profile_local": False,
}


def _mix(x: FloatArray, sr: int, neural: FloatArray | None) -> tuple[FloatArray, list[str]]:
    """Mode ``"mix"``; ``neural`` is ignored where hum is found (the model runs again on the
    recording without it)."""
    ours, actions = denoise_with_actions(x, sr, **_OURS_IN_MIX)
    if actions.hum is not None:
        neural = denoise_neural(hum.cancel(x, sr, actions.hum), sr)
    elif neural is None:
        neural = denoise_neural(x, sr)
    return mix_gains(x, ours, neural, sr), ["neural", *actions.codes()]


_MIX_CHUNK = 1024  # frames per chunk: memory stays flat whatever the duration


def mix_gains(x: FloatArray, ours: FloatArray, neural: FloatArray, sr: int) -> FloatArray:
    """``x`` through the geometric mean of two denoisers' gains, per STFT frame and bin.

    Each denoiser's gain is read back from its output, ``|Y| / |X|`` capped at 1 (32 ms
    frames, :mod:`audio.stft`); both return the input's length aligned with it. Averaging in
    the log domain is what a listener hears as the middle of two levels, and keeps the noisy
    phase. Frames are independent, so chunks of them give exactly the one-pass result.
    """
    geom = geometry_for(sr)
    total = n_frames(x.shape[0], geom)
    y = np.zeros(x.shape, dtype=np.float32)
    tiny = np.float32(1e-12)
    for first in range(0, total, _MIX_CHUNK):
        stop = min(first + _MIX_CHUNK, total)
        spec = analyse(x, geom, first, stop)
        mag = np.abs(spec) + tiny
        g_ours = np.minimum(np.abs(analyse(ours, geom, first, stop)) / mag, 1.0)
        g_neural = np.minimum(np.abs(analyse(neural, geom, first, stop)) / mag, 1.0)
        synthesise_into(y, spec * np.sqrt(g_ours * g_neural), geom, first)
    return y
