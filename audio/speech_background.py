"""Do no harm: is the background a voice (a TV, a radio, people talking nearby)?

A blind denoiser cannot tell one talker from another: it would take the words of the
broadcaster together with the TV's, and what it leaves sounds worse than the recording it was
given. So when the background itself is speech-like, the recording is left as it is (the
dedicated hum, wind and transient treatments still apply) and the report says why.

The background is read where the recording is quietest (the stretch :mod:`audio.denoise`
already finds to bound its noise estimate). It is speech-like when that stretch is strongly
periodic at pitch lags, as one voice or music is (normalised autocorrelation, energy-weighted,
above ``TALKER_HARMONICITY``), *and* it lies within ``_GAP_DB`` of the recording's loud part:
a pause of the broadcaster's own voice, faint and harmonic only through reverberation or a
breath, lies further below; a recording with no pause at all scores as speech-like too, and
leaving clean speech untouched costs nothing. Many voices at once (babble, a market) blur each
other's periodicity and score lower: they are suppressed like other noise.
"""

from __future__ import annotations

import numpy as np

from audio.samples import FloatArray

# Measured on the benchmark: one talker scores 0.46-0.75 at 20-40 dB SNR, babble of eight
# 0.29-0.43, steady noises at most 0.23.
TALKER_HARMONICITY = 0.5
_PITCH_HZ = (60, 400)
_GAP_DB = 25.0


def harmonicity(x: FloatArray, n: int, sr: int) -> float:
    """Energy-weighted mean, over frames of ``n`` samples, of the normalised autocorrelation's
    peak at pitch lags (60-400 Hz): near 1 for one voice, low for noise and for many voices
    at once, whose pitches blur each other's periodicity."""
    if x.shape[0] < n:
        return 0.0
    frames = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), n)[:: n // 2]
    frames = frames - frames.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(frames, 2 * n, axis=1)
    ac = np.fft.irfft(spec.real**2 + spec.imag**2, axis=1)
    energy = ac[:, 0]
    if energy.sum() <= 0.0:
        return 0.0
    peak = ac[:, sr // _PITCH_HZ[1] : sr // _PITCH_HZ[0]].max(axis=1)
    return float(peak.sum() / energy.sum())


def is_speech_like(stretch_harmonicity: float, quiet_db: float, loud_db: float) -> bool:
    """Whether the quietest stretch (its :func:`harmonicity`, its mean power ``quiet_db``; the
    recording's loud frames at ``loud_db``) is a voice or music to be left alone."""
    return loud_db - quiet_db < _GAP_DB and stretch_harmonicity > TALKER_HARMONICITY
