"""A recording with less sound than a bulletin needs is refused as too short, whatever silence
surrounds it; longer speech passes, and silence is still called silent."""

from __future__ import annotations

import numpy as np
import pytest

from audio.config import MIN_SPEECH_S
from audio.errors import EmptyAudioError, TooShortAudioError
from audio.pipeline import PipelineConfig, process

SR = 16000
CHECKED = PipelineConfig(min_speech_s=MIN_SPEECH_S)


def spoken(speech16: np.ndarray, seconds: float, *, silence_s: float = 2.0) -> np.ndarray:
    """``seconds`` of speech between stretches of room noise (a finger slow to stop)."""
    start = int(np.argmax(np.abs(speech16) > 0.05))
    voice = speech16[start : start + int(seconds * SR)]
    rng = np.random.default_rng(1)
    room = (rng.standard_normal(int(silence_s * SR)) * 1e-4).astype(np.float32)
    return np.concatenate([room, voice, room]).astype(np.float32)


@pytest.mark.parametrize("seconds", [0.2, 0.5])
def test_less_than_the_minimum_of_sound_is_too_short(speech16, seconds):
    with pytest.raises(TooShortAudioError, match="too short"):
        process(spoken(speech16, seconds), SR, CHECKED)


def test_a_fifth_of_a_second_alone_is_too_short(speech16):
    with pytest.raises(TooShortAudioError, match="too short"):
        process(spoken(speech16, 0.2, silence_s=0.0), SR, CHECKED)


def test_enough_speech_passes(speech16):
    out, _, _ = process(spoken(speech16, 2.5), SR, CHECKED)
    assert out.size > 2 * SR


def test_silence_is_still_silent_not_short():
    with pytest.raises(EmptyAudioError, match="silent") as caught:
        process(np.zeros(3 * SR, dtype=np.float32), SR, CHECKED)
    assert not isinstance(caught.value, TooShortAudioError)


def test_the_minimum_is_off_unless_asked(speech16):
    out, _, _ = process(spoken(speech16, 0.5), SR)  # `loa process` takes any length
    assert out.size > 0


def test_a_tap_of_silence_is_too_short_rather_than_silent():
    with pytest.raises(TooShortAudioError, match="too short"):
        process(np.zeros(SR // 4, dtype=np.float32), SR, CHECKED)
