"""Wind on the microphone: detect its low-frequency bursts frame by frame and turn them down.

Works on the denoiser's band power ``P`` (frames x bands, :mod:`audio.bands`; single bins of
``bin_hz`` below 8 kHz). Wind buffeting puts most of its energy below a few hundred hertz and
comes in bursts (Nelke & Vary 2014, "Measurement, analysis and simulation of wind noise signals
for mobile communication devices"); speech puts most of its energy between 300 Hz and 3 kHz.
So a frame is windy when its power below ``LOW_HZ`` exceeds ``_SPEECH_RATIO`` times its power
in ``MID_HZ`` and stands 6 dB over the low band's steady level (a hum or an engine is not wind),
for longer than a tenth of a second (a knock is not wind either). In a windy frame the bins
below ``CUT_HZ`` are turned down by twice the excess in dB (an expander: a gust 10 dB over the
threshold ends 10 dB under where it was over), fully below ``LOW_HZ`` and fading to unity at
``CUT_HZ``: a low-frequency gain that follows each burst, leaving speech in the middle band
untouched. The gain is smoothed over three frames so that its edges do not click. A segment
whose pauses hold no gusts, over a background no more low-heavy than speech allows, has no
wind (:func:`windy_background`): there the gain is left at unity (the low bursts it would have
turned down are the voice's own).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audio import running
from audio.samples import FloatArray

LOW_HZ = 300.0
MID_HZ = (300.0, 3000.0)
CUT_HZ = 600.0
# Low-band power at most this times the mid band's in speech whose harmonics the ripple test
# misses (a murmur, a reverberant or phone-coded vowel); voiced frames (whose low band may lie
# 19 dB over the middle: nasals, close talking) are told apart by their harmonics. Tuned on the
# wider benchmark's tune split: at 1.0 (0 dB) the gain took words at 20 dB SNR (ΔSTOI -0.012 on
# white noise, -0.029 on market), at 3.0 (4.8 dB) -0.004 and -0.015 with wind still turned down
# (wind at 5 dB: ΔPESQ-WB +0.14 instead of -0.05).
_SPEECH_RATIO = 3.0
_VOICED_RIPPLE = 0.3
_GUST_DB_FACTOR = 10.0 ** (6.0 / 10.0)  # a gust: 6 dB over the low band's steady level
_FLOOR = 10.0 ** (-30.0 / 20.0)  # the most a burst is turned down
_GUSTY_GAIN = 10.0 ** (-3.0 / 20.0)  # a frame turned down this far counts towards gusty_share
# Wind blows whether or not anyone talks: a recording where fewer than MIN_PAUSE_GUSTS of the
# frames without speech (their middle band within 6 dB of its quietest fifth) hold a gust has
# no wind, and its low bursts are the voice's. On the wider benchmark's tune split the other
# noises read 0-0.07 (most 0), wind 0.05-0.36 in most recordings but 0-0.05 in five of 24
# (wind steady enough to set the low band's level itself: see windy_background); at 20 dB SNR
# the gain took pink and fan noise's recordings' low vowels (STOI 0.001-0.003 below the input)
# until this gate.
_PAUSE_DB_FACTOR = 10.0 ** (6.0 / 10.0)
MIN_PAUSE_GUSTS = 0.06
_ALONE_RATIO = 100.0  # 20 dB
# Frames this close to a voiced one (64 ms) are the voice's edges, not pauses: as a syllable
# starts or fades the harmonic test fails while its low band already stands over speech's
# share, and in noise at 10 dB SNR its middle band is still within 6 dB of the noise. Counted
# as pauses, close-talked speech in white noise read 10 % of its "pauses" gusty (tune split,
# white at 10 dB: PESQ-WB +0.01 and STOI -0.011 against the input, +0.97 and +0.018 without).
VOICE_REACH = 4
WINDY_GAIN = 0.5  # loud frames turned down below this (-6 dB) count as windy in the report


def _harmonic_ripple(P: FloatArray, bin_hz: float) -> npt.NDArray[np.float64]:
    """Per frame, how strongly the log spectrum from 60 Hz to 1.2 kHz ripples at a voice's
    harmonic spacing (70-300 Hz): the peak of its autocorrelation across frequency at those
    lags, normalised. A voiced frame's harmonics ripple; wind's smooth slope does not."""
    lo, hi = max(1, int(60.0 / bin_hz)), int(1200.0 / bin_hz)
    spec = np.log(P[:, lo:hi].astype(np.float64) + 1e-20)
    spec -= running.uniform_filter1d(spec, 9, axis=1)  # remove the slope
    lags = range(max(2, round(70.0 / bin_hz)), round(300.0 / bin_hz) + 1)
    energy = np.sum(spec * spec, axis=1) + 1e-20
    ripple = np.max([np.sum(spec[:, k:] * spec[:, :-k], axis=1) for k in lags], axis=0)
    out: npt.NDArray[np.float64] = ripple / energy
    return out


@dataclass(frozen=True)
class WindGain:
    """What :func:`gain` found in one segment."""

    gain: FloatArray  # (frames, bins below CUT_HZ)
    windy: int  # frames turned down by 6 dB or more while loud
    # Share of the frames a gust blows in, voiced ones included (0 where the segment has no
    # wind): the noise tracker cannot follow a gust whether or not someone talks over it.
    gusty: float


def gain(P: FloatArray, bin_hz: float) -> WindGain:
    """Per-frame gain for the bins below ``CUT_HZ``, shape ``(frames, bins below CUT_HZ)``, how
    many frames were windy: turned down by 6 dB or more while loud (their low band above the
    median frame's power; in a pause any faint rumble outweighs the silent middle band), and
    the share of frames a gust blows in.

    ``P`` holds single bins from 0 Hz up (at least up to ``MID_HZ[1]``) at ``bin_hz`` spacing.
    """
    low = slice(1, int(LOW_HZ / bin_hz))  # bin 0 is DC, removed by the chain's high-pass
    mid = slice(int(MID_HZ[0] / bin_hz), int(MID_HZ[1] / bin_hz) + 1)
    cut = int(CUT_HZ / bin_hz) + 1
    low_power = P[:, low].sum(axis=1, dtype=np.float64) + 1e-30
    mid_power = P[:, mid].sum(axis=1, dtype=np.float64)
    # Gusts stand out of the low band's own steady level (its 20th percentile here), which a
    # hum, an engine or a fan sets and the denoiser already follows: only what blows above
    # both that level and speech's share is turned down.
    voiced = _harmonic_ripple(P, bin_hz) > _VOICED_RIPPLE
    steady = float(np.percentile(low_power, 20))
    allowed = np.maximum(_SPEECH_RATIO * mid_power, _GUST_DB_FACTOR * steady)
    # Above that, an expander: each dB of excess takes two off (amplitude gain = power ratio).
    g_frame = np.minimum(1.0, allowed / low_power)
    # A gust that blows under a voiced frame is still a gust for the suppressor's floor
    # (audio.light_touch): a high voice's harmonics mark most frames voiced, and counting
    # only unvoiced ones read the held-out split's female talker's wind as calm.
    raw = running.median_filter(g_frame, 5)
    g_frame[voiced] = 1.0  # a voice's low harmonics (a nasal, a man's vowel) are not wind
    windy = windy_background(g_frame, low_power, mid_power, near_voice=_near(voiced))
    if not windy:
        g_frame[:] = 1.0  # no wind where it would show alone: the low bursts are the voice's
    # Wind blows for a tenth of a second and more: a shorter low thump (a click, a knock) is
    # a transient, not wind (the median over five frames ignores it).
    g_frame = running.median_filter(g_frame, 5)
    g_frame = running.minimum_filter1d(g_frame, 3)
    g_frame = running.uniform_filter1d(g_frame, 3)
    np.maximum(g_frame, _FLOOR, out=g_frame)
    # Full gain below LOW_HZ, rising linearly (in dB) to unity at CUT_HZ.
    f = np.arange(cut) * bin_hz
    weight = np.clip((CUT_HZ - f) / (CUT_HZ - LOW_HZ), 0.0, 1.0)
    out: FloatArray = np.exp(np.log(g_frame)[:, None] * weight[None, :]).astype(np.float32)
    loud = low_power > np.median(low_power + mid_power)
    gusty = float(np.mean(raw < _GUSTY_GAIN)) if windy and raw.shape[0] else 0.0
    return WindGain(out, int(np.count_nonzero(loud & (g_frame < WINDY_GAIN))), gusty)


def _near(voiced: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Frames within ``VOICE_REACH`` frames of a voiced one."""
    if not voiced.any():
        return voiced
    near: npt.NDArray[np.bool_] = (
        running.maximum_filter1d(voiced.astype(np.float64), 2 * VOICE_REACH + 1) > 0.5
    )
    return near


def windy_background(
    g_frame: npt.NDArray[np.float64],
    low_power: npt.NDArray[np.float64],
    mid_power: npt.NDArray[np.float64],
    near_voice: npt.NDArray[np.bool_] | None = None,
) -> bool:
    """Whether wind blows in this segment at all, read where nobody talks: gusts in at least
    ``MIN_PAUSE_GUSTS`` of the frames without speech (:func:`gusts_in_pauses`), or a background
    whose low band itself lies ``_SPEECH_RATIO`` over its middle band (both at their quietest
    fifth): a wind that blows all the time sets the low band's steady level, so its gusts stand
    out of it less, but no other background of the benchmark is that low-heavy once mains hum
    is cancelled (pink, an engine, a motorbike: at most 2.3 dB; wind 3-16 dB). Such a
    background must still gust (:func:`_low_band_gusts`): the buzz a hum canceller leaves is as
    low-heavy (3-10 dB on the benchmark's tune split) but steady, and taken for wind it took
    the bass of close-talked speech (hum at 20 dB: STOI 0.007 below the input). Frames
    ``near_voice`` (within ``VOICE_REACH`` of a voiced one) are no pauses."""
    if gusts_in_pauses(g_frame, low_power, mid_power, near_voice) >= MIN_PAUSE_GUSTS:
        return True
    quiet_mid = float(np.percentile(mid_power, 20))
    if not float(np.percentile(low_power, 20)) >= _SPEECH_RATIO * quiet_mid > 0.0:
        return False
    return _low_band_gusts(low_power, mid_power)


def _low_band_gusts(low_power: npt.NDArray[np.float64], mid_power: npt.NDArray[np.float64]) -> bool:
    """Whether at least ``MIN_PAUSE_GUSTS`` of the frames without speech hold a low band
    ``_GUST_DB_FACTOR`` over that of the quietest fifth of them: the gust of :func:`gain`,
    measured against the pauses' own steady level. Wind is bursts; a steady rumble a few
    bins wide passes 6 dB over its quietest fifth in well under 1 % of its frames by chance
    (tune split, low-heavy recordings: wind 6-59 % of their pauses, hum 0-7 % but 0-39 % under
    a phone's AGC, whose level moves with the voice's and still reads as wind here)."""
    quiet = _pauses(low_power, mid_power)
    if not quiet.any():
        return True
    low = low_power[quiet]
    steady = float(np.percentile(low, 20))
    return float(np.mean(low > _GUST_DB_FACTOR * steady)) >= MIN_PAUSE_GUSTS


def _pauses(
    low_power: npt.NDArray[np.float64], mid_power: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """Frames without speech, as :func:`gusts_in_pauses` reads them."""
    floor = max(float(np.percentile(mid_power, 20)), 1e-4 * float(np.percentile(mid_power, 95)))
    quiet: npt.NDArray[np.bool_] = (mid_power <= _PAUSE_DB_FACTOR * floor) | (
        low_power >= _ALONE_RATIO * mid_power
    )
    return quiet


def gusts_in_pauses(
    g_frame: npt.NDArray[np.float64],
    low_power: npt.NDArray[np.float64],
    mid_power: npt.NDArray[np.float64],
    near_voice: npt.NDArray[np.bool_] | None = None,
) -> float:
    """Share of the frames without speech that the raw per-frame gain ``g_frame`` turns down by
    3 dB or more. Without speech: the middle band within ``_PAUSE_DB_FACTOR`` of its quietest
    fifth (or of 40 dB under its loud frames: a pause of digital silence has a quietest fifth
    of 0), or the low band ``_ALONE_RATIO`` over the middle one (a gust loud enough that its
    own spill fills the middle band; a voice's low band reaches that only in voiced frames,
    which ``g_frame`` already leaves at unity)."""
    quiet = _pauses(low_power, mid_power)
    if near_voice is not None:
        quiet &= ~near_voice
    n = int(np.count_nonzero(quiet))
    return float(np.count_nonzero(quiet & (g_frame < _GUSTY_GAIN)) / n) if n else 0.0


def gusty_share(g: FloatArray) -> float:
    """Share of the frames of a :func:`gain` turned down by 3 dB or more (at its lowest bins,
    where the gain is full), loud or not."""
    return float(np.mean(g[:, 1] < _GUSTY_GAIN)) if g.shape[0] and g.shape[1] > 1 else 0.0
