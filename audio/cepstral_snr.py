"""A priori SNR by selective cepstro-temporal smoothing (Breithaupt, Gerkmann & Martin 2008).

Shapes: the a posteriori SNR ``gamma`` is frames x bins, the single STFT bins up to 8 kHz
(:mod:`audio.bands`: the pooled bands above are left to the decision-directed estimate).

Per frame, the maximum-likelihood a priori SNR ``xi_ml = max(gamma - 1, xi_ml_min)`` goes to
the cepstral domain, ``c = IDFT(ln xi_ml)`` (the log spectrum is real and even, so a DCT-I of
the ``K`` bins is the ``2 (K - 1)``-point DFT). The paper smooths the log ML *speech power*
``lambda_d xi_ml``; dividing by the noise PSD only subtracts ``ln lambda_d``, which varies
slowly in time and passes the smoothing almost unchanged, and saves a division back (the
benchmark scored both alike). In the cepstrum speech and noise separate: the low quefrencies
hold the spectral envelope, a peak at the pitch period holds the harmonics, and the rest is
mostly the random fine structure of the noise. Each group is smoothed over time by its own
amount, then transformed back, ``ln xi = DFT(c_smoothed) + kappa`` (``kappa``: the paper's
correction for the bias of averaging logarithms):

* envelope (quefrency below 1.25 ms): lightly, [1/4, 1/2, 1/4] over three frames (the paper's
  recursive smoothing constants of 0.2-0.4);
* pitch (the largest coefficient between 1/300 s and 1/70 s, and 2 coefficients each side, when
  it exceeds 0.2: a voiced frame): not at all, so the harmonics survive;
* everything else: strongly, over about 24 frames (the paper's constant of about 0.92), so the
  isolated peaks that make musical noise are averaged away.

The parameter values follow the paper and the openMHA ``smooth_cepstrum`` plugin's defaults
(pitch range, threshold, ``kappa``, quefrency limits). The recording is available as a whole, so
the smoothing is centred in time (like the bidirectional decision-directed pass in
:mod:`audio.denoise`) and vectorised instead of recursive: the strong smoothing is a mean over
blocks of ``BLOCK`` frames, then [1/4, 1/2, 1/4] over blocks. Blocks start at multiples of
``BLOCK`` frames from the first row of ``gamma``, so a caller that works in chunks starts
each chunk's ``gamma`` on such a multiple of the recording and gives it ``REACH`` frames of
context each side.
"""

from __future__ import annotations

import numpy as np

from audio import fft
from audio.samples import FloatArray

BLOCK = 8  # frames per block of the strong smoothing (8 x 16 ms)
#: Frames each side that reach a frame's estimate: its block and the blocks either side.
REACH = 2 * BLOCK

_XI_ML_MIN = 10.0 ** (-27.0 / 10.0)  # floor of the ML a priori SNR before the logarithm
_ENVELOPE_S = 1.25e-3  # quefrencies below: spectral envelope
_PITCH_HZ = (70.0, 300.0)
_PITCH_HALF_WIDTH = 2  # coefficients each side of the pitch peak kept unsmoothed
_PITCH_THRESHOLD = 0.2  # cepstral peak height (natural log units) of a voiced frame
_KAPPA = np.float32(0.29)  # bias correction of the log-domain mean (Breithaupt et al. 2008)


def _three_tap(x: FloatArray) -> FloatArray:
    """``[1/4, 1/2, 1/4]`` along axis 0, edges repeated."""
    out = x * np.float32(0.5)
    out[1:] += x[:-1] * np.float32(0.25)
    out[:-1] += x[1:] * np.float32(0.25)
    out[0] += x[0] * np.float32(0.25)
    out[-1] += x[-1] * np.float32(0.25)
    return out


def _block_smooth(c: FloatArray) -> FloatArray:
    """Mean over blocks of ``BLOCK`` frames, ``[1/4, 1/2, 1/4]`` over blocks, held per frame."""
    T, Q = c.shape
    full = T // BLOCK
    means = np.empty((-(-T // BLOCK), Q), dtype=np.float32)
    np.mean(c[: full * BLOCK].reshape(full, BLOCK, Q), axis=1, out=means[:full])
    if T % BLOCK:
        means[full] = c[full * BLOCK :].mean(axis=0)
    means = _three_tap(means)
    out = np.empty_like(c)
    out[: full * BLOCK].reshape(full, BLOCK, Q)[:] = means[:full, None, :]
    out[full * BLOCK :] = means[full:]
    return out


def log_snr(gamma: FloatArray, quefrency_hz: float) -> FloatArray:
    """Cepstro-temporally smoothed ``ln xi`` from the a posteriori SNR ``gamma`` (frames x bins).

    ``gamma`` holds the single bins ``0 .. K - 1`` of each frame; ``quefrency_hz`` is
    ``2 (K - 1)`` times the bin spacing (16000 for 31.25 Hz bins), so cepstral index ``q`` is
    ``q / quefrency_hz`` seconds. The smoothing runs on ``ln max(gamma - 1, xi_ml_min)``, the
    ML speech power divided by the noise PSD: that only subtracts ``ln lambda_d``, which varies
    slowly in time, and saves the division back.
    """
    K = gamma.shape[1]
    ml = gamma - np.float32(1.0)
    np.maximum(ml, np.float32(_XI_ML_MIN), out=ml)
    np.log(ml, out=ml)
    c = fft.dct1_inplace(ml, axis=1)
    c *= np.float32(1.0 / (2 * (K - 1)))
    q_env = min(K, max(1, round(_ENVELOPE_S * quefrency_hz)))
    smoothed = _block_smooth(c)
    smoothed[:, :q_env] = _three_tap(c[:, :q_env])
    q_lo = max(q_env, int(quefrency_hz / _PITCH_HZ[1]))
    q_hi = min(K - 1, int(quefrency_hz / _PITCH_HZ[0]) + 1)
    if q_hi - q_lo > 2 * _PITCH_HALF_WIDTH:
        band = c[:, q_lo:q_hi]
        peak = np.argmax(band, axis=1)
        rows = np.arange(band.shape[0])
        voiced = band[rows, peak] > np.float32(_PITCH_THRESHOLD)
        for d in range(-_PITCH_HALF_WIDTH, _PITCH_HALF_WIDTH + 1):
            cols = np.clip(peak[voiced] + d, 0, q_hi - q_lo - 1) + q_lo
            smoothed[rows[voiced], cols] = c[rows[voiced], cols]
    smoothed[:, 0] += _KAPPA  # the mean of the log spectrum: adds kappa to every bin
    out: FloatArray = fft.dct1_inplace(smoothed, axis=1)
    return out
