"""Trim long leading and trailing silence, keeping a short pad. Mono ``(n,)`` float32."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audio.analysis import frame_levels_db
from audio.samples import as_mono, check_rate


@dataclass(frozen=True)
class TrimResult:
    """Seconds removed at each end."""

    start_s: float
    end_s: float


def find_speech_bounds(
    x: np.ndarray, sr: int, *, floor_margin_db: float = 10.0, peak_range_db: float = 40.0
) -> tuple[int, int] | None:
    """First and last sample (exclusive end) of 10 ms frames that hold sound, or ``None``.

    A frame holds sound when its level is within ``peak_range_db`` of the loud frames (95th
    percentile, at least the loudest frame's level minus 30 dB) and ``floor_margin_db`` above
    the background (10th percentile).
    """
    levels, hop = frame_levels_db(x, sr, frame_s=0.01)
    if levels.size == 0:
        return None
    if not np.isfinite(levels).any():
        return None
    levels = np.maximum(levels, -200.0)  # digital silence
    # A short word in a long silence fills fewer than 5 % of the frames, and the 95th percentile
    # then reads the silence (a fifth of a second of voice between 2 s of room noise counted
    # as a whole second of sound): the loud level is never taken below 30 dB under the peak.
    loud = max(float(np.percentile(levels, 95)), float(levels.max()) - 30.0)
    floor = float(np.percentile(levels, 10))
    threshold = max(loud - peak_range_db, floor + floor_margin_db)
    if threshold >= loud:  # steady sound (a tone, pure noise): nothing to tell apart
        return 0, as_mono(x).size
    active = np.flatnonzero(levels > threshold)
    if active.size == 0:
        return None
    return int(active[0] * hop), int(min(as_mono(x).size, (active[-1] + 1) * hop))


def trim_silence(
    x: np.ndarray, sr: int, *, pad_s: float = 0.3, min_silence_s: float = 0.6
) -> tuple[np.ndarray, TrimResult]:
    """Cut silence longer than ``min_silence_s`` at either end down to ``pad_s``.

    Returns the trimmed signal and how much was removed. A recording with no sound at all is
    returned unchanged (the caller decides whether silence is an error).
    """
    sr = check_rate(sr)
    y = as_mono(x)
    bounds = find_speech_bounds(y, sr)
    if bounds is None:
        return y, TrimResult(0.0, 0.0)
    first, last = bounds
    pad = round(pad_s * sr)
    start = first - pad if first > round(min_silence_s * sr) else 0
    end = last + pad if y.size - last > round(min_silence_s * sr) else y.size
    start, end = max(0, start), min(y.size, end)
    return y[start:end].copy(), TrimResult(start / sr, (y.size - end) / sr)
