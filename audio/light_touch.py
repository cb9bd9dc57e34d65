"""Do no harm where speech dominates: the denoiser's smoothing follows the segmental SNR.

The a priori SNR estimate is smoothed over time twice (:mod:`audio.denoise`): the
decision-directed recursion (Ephraim & Malah 1984, eq. 51, weight ``alpha`` on the previous
frame) and the cepstro-temporal estimate averaged in (:mod:`audio.cepstral_snr`, about 24
frames). Both exist to keep isolated noise peaks from passing as musical noise, which matters
where the noise is loud. Where speech dominates, the same smoothing makes the gain lag the
speech: weak onsets, offsets and fast consonants are attenuated for a frame or two, and the
band envelopes that intelligibility rests on (STOI: the correlation of 384 ms of 1/3-octave
envelopes) are smeared. So the smoothing is relaxed as the segment's SNR rises: ``alpha``
falls towards ``alpha_light`` and the cepstral estimate's weight in the geometric average falls
to zero (the cepstral smoothing removes musical noise, which does not arise when there is
little noise). Measured on the wider benchmark's tune split at 20 dB SNR: white, pink, engine,
fan and market lose no STOI (before: 0.001-0.005 below the noisy input), with PESQ-WB as high.

Wind gusts are the other case where deep suppression harms: the noise tracker cannot follow a
gust, so the suppressor reads its onset as speech and gates its tail, and the pumping lowers
PESQ-WB below the untouched input's (0.04-0.16 at 0-5 dB on the wider benchmark). So in a
segment where wind blows (:mod:`audio.wind`), the suppressor's floor ``G_min`` rises with the
share of frames a gust blows in, to ``gusty_floor_db`` (the wind gain itself still takes the
gusts down, fully). Frames where someone talks over a gust count too: the tracker misses the
gust all the same, and a high voice (whose harmonics mark most frames voiced) left too few
unvoiced gusts to raise the floor.

The segment's SNR is read blindly from the noise tracker's estimate over the chunk that is
being processed (``(sum P - sum lambda) / sum lambda``), so a long recording whose noise
changes gets its smoothing chunk by chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from audio.samples import FloatArray

CEPSTRAL_WEIGHT = 0.5  # the cepstral estimate's weight in the geometric average, noisy segments


@dataclass(frozen=True)
class Smoothing:
    """How much the a priori SNR is smoothed in one segment."""

    alpha: float  # decision-directed weight on the previous frame
    cepstral_weight: float  # of the cepstro-temporal estimate in the geometric average


def segmental_snr_db(P: FloatArray, lam: FloatArray) -> float:
    """Blind SNR of a segment (dB) from its band power ``P`` and noise estimate ``lam``
    (frames x bands), clamped to ±100 dB."""
    noise = float(np.sum(lam, dtype=np.float64))
    total = float(np.sum(P, dtype=np.float64))
    if noise <= 0.0:
        return 100.0
    speech = total - noise
    if speech <= 0.0:
        return -100.0
    return max(-100.0, min(100.0, 10.0 * math.log10(speech / noise)))


def smoothing(
    snr_db: float, alpha: float, alpha_light: float, light_snr_db: tuple[float, float]
) -> Smoothing:
    """The smoothing for a segment at ``snr_db``: ``alpha`` and the full cepstral weight at or
    below ``light_snr_db[0]``, ``alpha_light`` and none at or above ``light_snr_db[1]``, linear
    in between."""
    lo, hi = light_snr_db
    t = 0.0 if hi <= lo else min(1.0, max(0.0, (snr_db - lo) / (hi - lo)))
    return Smoothing(
        alpha=alpha + t * (alpha_light - alpha), cepstral_weight=CEPSTRAL_WEIGHT * (1.0 - t)
    )


# Share of a segment's frames that the wind gain turns down: at most 0.06 on every other noise
# of the wider benchmark (music, hum), 0.07-0.25 with wind at 0-10 dB SNR.
GUSTY_SHARE = (0.04, 0.10)


def gusty_floor_db(share: float, floor_db: float, gusty_floor_db: float) -> float:
    """The suppressor's floor in a segment where ``share`` of the frames are wind gusts:
    ``floor_db`` up to ``GUSTY_SHARE[0]``, ``gusty_floor_db`` from ``GUSTY_SHARE[1]``, linear
    in between (never deeper than ``floor_db``)."""
    lo, hi = GUSTY_SHARE
    t = min(1.0, max(0.0, (share - lo) / (hi - lo)))
    return max(floor_db, floor_db + t * (gusty_floor_db - floor_db))
