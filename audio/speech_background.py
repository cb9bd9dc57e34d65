"""Do no harm: is the background a voice (a TV, a radio, people talking nearby)?

A blind denoiser cannot tell one talker from another: it would take the words of the
broadcaster together with the TV's, and what it leaves sounds worse than the recording it was
given. So when the background itself is speech-like, the recording is left as it is (the
dedicated hum, wind and transient treatments still apply) and the report says why.

The background is read where the recording is quietest (the stretch :mod:`audio.denoise`
already finds to bound its noise estimate). It is speech-like when that stretch is periodic at
pitch lags, as a voice or music is, or holds a pitch from frame to frame (:func:`periodicity`),
*and* it lies within ``_GAP_DB`` of the recording's loud part:
a pause of the broadcaster's own voice, faint and harmonic only through reverberation or a
breath, lies further below; a recording with no pause at all scores as speech-like too, and
leaving clean speech untouched costs nothing. Many voices at once (a market) blur each
other's periodicity and score lower: they are suppressed like other noise, more gently where
they are still periodic enough to be babble (:func:`is_babble`).
"""

from __future__ import annotations

import numpy as np

from audio.samples import FloatArray

# Measured on the benchmark: one talker scores 0.46-0.75 at 20-40 dB SNR, babble of eight
# 0.29-0.43, steady noises at most 0.23.
TALKER_HARMONICITY = 0.5
_PITCH_HZ = (60, 400)
_GAP_DB = 35.0
_VOICED = 0.3
_HELD_PITCH = 0.05
# Measured on the wider benchmark corpus's quietest half seconds (bench/corpus_wide.py): a TV
# (a voice through a small loudspeaker, music, a room) scores 0.40-0.53 / 0.22-0.67, music
# 0.38-0.57 / 0.50-0.72, eight espeak talkers at once 0.34-0.40 / 0.34-0.52, a market of twenty
# 0.29-0.32 / 0.21-0.31, steady noises at most 0.23 / 0.03. Babble that scores as a voice is
# left too: a blind method cannot take it from the speech without taking words (the
# benchmark's STOI fell below the noisy input's on it).
_LEAVE_HARMONICITY = 0.38
_LEAVE_CONTINUITY = 0.4


def periodicity(x: FloatArray, n: int, sr: int) -> tuple[float, float]:
    """``(harmonicity, continuity)`` of ``x`` over frames of ``n`` samples, a quarter apart.

    Harmonicity: the energy-weighted mean of the normalised autocorrelation's peak at pitch
    lags (60-400 Hz): near 1 for one voice, low for noise and for many voices at once, whose
    pitches blur each other's periodicity. Continuity: the share of consecutive frames both
    voiced (peak above 0.3) whose pitch lags differ by less than 5 %: a voice or a note holds
    its pitch from one frame to the next, noise has none to hold.
    """
    if x.shape[0] < n:
        return 0.0, 0.0
    frames = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), n)[:: n // 4]
    frames = frames - frames.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(frames, 2 * n, axis=1)
    ac = np.fft.irfft(spec.real**2 + spec.imag**2, axis=1)
    energy = ac[:, 0]
    if energy.sum() <= 0.0:
        return 0.0, 0.0
    lo = sr // _PITCH_HZ[1]
    band = ac[:, lo : sr // _PITCH_HZ[0]]
    peak = band.max(axis=1)
    harmonic = float(peak.sum() / energy.sum())
    lag = np.argmax(band, axis=1) + lo
    voiced = peak > _VOICED * np.maximum(energy, 1e-30)
    held = voiced[1:] & voiced[:-1] & (np.abs(np.log(lag[1:] / lag[:-1])) < _HELD_PITCH)
    return harmonic, float(held.mean()) if held.shape[0] else 0.0


def is_speech_like(harmonic: float, continuity: float, quiet_db: float, loud_db: float) -> bool:
    """Whether the quietest stretch (its :func:`periodicity`, its mean power ``quiet_db``; the
    recording's loud frames at ``loud_db``) is a voice or music to be left alone."""
    near = loud_db - quiet_db < _GAP_DB
    return near and (harmonic >= _LEAVE_HARMONICITY or continuity >= _LEAVE_CONTINUITY)


# Many voices at once (babble) that do not score as one voice: harmonicity and continuity above
# a market's most (0.29-0.35 / 0.21-0.36 on the wider benchmark's tune split; eight talkers
# 0.34-0.39 / 0.34-0.45), with a voice's spectrum: little power above 2 kHz (babble 4-5 %,
# rain on a tin roof 35-84 % with harmonicity 0.27-0.37) and a centroid above mains hum's and
# wind's (under 210 Hz; babble 640-710 Hz).
_BABBLE_HARMONICITY = 0.33
_BABBLE_CONTINUITY = 0.3
_BABBLE_HIGH_SHARE = 0.2
_BABBLE_CENTROID_HZ = 400.0


def is_babble(harmonic: float, continuity: float, x: FloatArray, sr: int) -> bool:
    """Whether the quiet stretch ``x`` (its :func:`periodicity` given) is babble: voices the
    suppressor cannot take from the talker's without taking words (STOI fell below the noisy
    input's at 0-20 dB SNR on the tune split)."""
    if harmonic < _BABBLE_HARMONICITY or continuity < _BABBLE_CONTINUITY:
        return False
    f = np.fft.rfftfreq(x.shape[0], 1.0 / sr)
    power = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(x.shape[0]))) ** 2
    band = f > 100.0
    total = float(power[band].sum())
    if total <= 0.0:
        return False
    high = float(power[f > 2000.0].sum()) / total
    centroid = float((f[band] * power[band]).sum()) / total
    return high < _BABBLE_HIGH_SHARE and centroid >= _BABBLE_CENTROID_HZ
