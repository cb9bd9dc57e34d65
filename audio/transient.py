"""Short loud sounds (a dog's bark, a rooster, a door, a click): found, and kept to their frames.

The denoiser smooths its a priori SNR over time, forwards and backwards (decision-directed) and
over blocks of frames (cepstral): a frame much louder than its neighbours lifts the gain of the
frames around it, so the noise there passes as a tail after the sound and a pre-echo before
it. Frames found here are handled on their own: the smoothing sees them at their
neighbourhood's level, and their own gain comes from their own frame only (the
maximum-likelihood estimate, no memory), so the sound is neither smeared nor carried.

A frame is a transient when its power exceeds the median of the ``_CONTEXT_S`` around it by
``_RISE_DB`` and it is no longer than ``_MAX_S``: speech holds its level for a syllable, and a
syllable after a pause still has a median of pause around it, so ``_MAX_S`` is kept below a
syllable's length of loud frames in a row.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from audio import running
from audio.samples import FloatArray

_RISE_DB = 15.0
_CONTEXT_S = 1.0
_MAX_S = 0.12


def frames(P: FloatArray, hop_s: float) -> npt.NDArray[np.bool_]:
    """Which frames of the band power ``P`` (frames x bands) are short transients."""
    level = np.log10(P.sum(axis=1, dtype=np.float64) + 1e-30) * 10.0
    context = max(3, round(_CONTEXT_S / hop_s) | 1)
    median = running.median_filter(level, context)
    loud: npt.NDArray[np.bool_] = np.asarray(level > median + _RISE_DB, dtype=np.bool_)
    if not loud.any():
        return loud
    runs = running.label_runs(loud)
    sizes = np.bincount(runs)[1:]
    short = np.concatenate(([False], sizes <= max(1, round(_MAX_S / hop_s))))
    keep: npt.NDArray[np.bool_] = np.asarray(short[runs] & loud, dtype=np.bool_)
    return keep
