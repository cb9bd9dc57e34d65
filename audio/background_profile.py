"""The recording's background, read from its quietest stretch: the noise's band power that
bounds the denoiser's estimate from below, and whether that background is a voice or music
(left alone) or many voices at once (suppressed gently): :mod:`audio.speech_background`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audio import speech_background
from audio.bands import BandLayout, band_power
from audio.samples import FloatArray
from audio.stft import StftGeometry, analyse


@dataclass(frozen=True)
class Background:
    profile: FloatArray | None  # the quiet stretch's band power, weighted; None: bounds nothing
    speech_like: bool  # the quiet stretch is a voice or music, to be left alone
    babble: bool = False  # the quiet stretch is many voices at once (audio.speech_background)


def quiet_stretch(
    x: FloatArray,
    geom: StftGeometry,
    layout: BandLayout,
    sr: int,
    *,
    seconds: float,
    weights: tuple[float, float],
    split_hz: float,
) -> Background:
    """The quietest ``seconds`` of ``x`` (by energy per hop): its mean band power, scaled by
    :func:`stretch_weights`, and whether it is speech-like. No profile when the
    recording is too short to hold such a stretch, or when the stretch holds a talker rather
    than background (a recording without a pause, or a TV: :mod:`audio.speech_background`)."""
    hop = geom.hop
    hops = x.shape[0] // hop
    width = max(geom.overlap, round(seconds * sr / hop))
    if hops < 2 * width:
        return Background(None, False)
    rows = x[: hops * hop].reshape(hops, hop)
    per_hop = np.einsum("ij,ij->i", rows, rows, dtype=np.float64)
    energy = np.concatenate(([0.0], np.cumsum(per_hop)))
    sums = energy[width:] - energy[:-width]
    start = int(np.argmin(sums))
    stretch = x[start * hop : (start + width) * hop]
    harmonic, continuity = speech_background.periodicity(stretch, geom.n_fft, sr)
    quiet_db = 10.0 * math.log10(max(float(sums[start]) / width, 1e-20))
    loud_db = 10.0 * math.log10(max(float(np.percentile(per_hop, 95)), 1e-20))
    leave = speech_background.is_speech_like(harmonic, continuity, quiet_db, loud_db)
    babble = speech_background.is_babble(harmonic, continuity, stretch, sr)
    if harmonic > speech_background.TALKER_HARMONICITY:
        return Background(None, leave, babble)
    # frames lying wholly inside hops [start, start + width)
    first = start + geom.overlap - 1
    power = band_power(analyse(x, geom, first, start + width), layout)
    mean = np.asarray(np.mean(power, axis=0, dtype=np.float64))
    mean *= stretch_weights(mean.shape[0], layout, geom, sr, weights=weights, split_hz=split_hz)
    return Background(mean.astype(np.float32), leave, babble)


def stretch_weights(
    n_bands: int,
    layout: BandLayout,
    geom: StftGeometry,
    sr: int,
    *,
    weights: tuple[float, float],
    split_hz: float,
) -> npt.NDArray[np.float64]:
    """Per band, what the quiet stretch's power is scaled by: ``weights[0]`` below
    ``split_hz``, ``weights[1]`` above (bands above 8 kHz are all above the split)."""
    split = min(layout.split, math.ceil(split_hz * geom.n_fft / sr))
    out = np.full(n_bands, weights[1], dtype=np.float64)
    out[:split] = weights[0]
    return out
