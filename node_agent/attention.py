"""Signals made on the node, so no download is needed: the attention signal that opens every
emergency, and the technician's test tone.

The attention signal is three rising tones twice (a familiar public-address chime), 48 kHz mono
float32, about 2.6 s, peaking at -3 dBFS with short ramps so horn loudspeakers do not click.
"""

from __future__ import annotations

import numpy as np

RATE = 48_000
_TONES_HZ = (523.25, 659.25, 783.99)  # C5 E5 G5
_TONE_S = 0.35
_GAP_S = 0.05
_PAUSE_S = 0.3


def attention_signal(rate: int = RATE) -> np.ndarray:
    t = np.arange(int(_TONE_S * rate), dtype=np.float32) / rate
    ramp = np.minimum(1.0, np.minimum(t, _TONE_S - t) / 0.02).astype(np.float32)
    parts: list[np.ndarray] = []
    for _ in range(2):
        for freq in _TONES_HZ:
            tone = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t)
            parts += [tone.astype(np.float32) * ramp, np.zeros(int(_GAP_S * rate), np.float32)]
        parts.append(np.zeros(int(_PAUSE_S * rate), np.float32))
    out = np.concatenate(parts)
    peak = float(np.max(np.abs(out)))
    return (out * (10 ** (-3 / 20) / peak)).astype(np.float32)


TEST_TONE_HZ = 1000.0
# A full-scale sine measures -3.01 LUFS (BS.1770-4), so a peak of -13 dBFS sits at the
# programme's -16 LUFS: as loud as a bulletin at the same volume, clear from the foot of the
# pole but not the -3 dBFS of the alarm.
TEST_TONE_PEAK = 10 ** (-13 / 20)
_TONE_RAMP_S = 0.02


def make_test_tone(seconds: float, rate: int = RATE) -> np.ndarray:
    """A steady 1 kHz tone of ``seconds``, with ramps so the horn does not click."""
    n = int(seconds * rate)
    t = np.arange(n, dtype=np.float32) / rate
    ramp = np.minimum(1.0, np.minimum(t, seconds - t) / _TONE_RAMP_S)
    tone = TEST_TONE_PEAK * np.sin(2 * np.pi * TEST_TONE_HZ * t) * ramp
    return tone.astype(np.float32)
