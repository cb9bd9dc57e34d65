"""The denoiser on a live stream: what leaves when, that it does not depend on how the input
was fed, and that it still takes the noise down between words."""

from __future__ import annotations

import numpy as np
import pytest

from audio.live_denoise import RATE, StreamingDenoiser


def voice_in_noise(seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """A voiced, syllable-like signal (150 Hz and harmonics, on 60 % of the time) in white
    noise, and where the pauses are."""
    rng = np.random.default_rng(3)
    t = np.arange(int(seconds * RATE)) / RATE
    on = (np.sin(2 * np.pi * 2 * t) > -0.2).astype(np.float32)
    voice = sum(np.sin(2 * np.pi * 150 * h * t) / h for h in range(1, 12)) * 0.1 * on
    noise = rng.standard_normal(t.size) * 0.02
    return (voice + noise).astype(np.float32), on == 0


def fed(x: np.ndarray, size: int, dn: StreamingDenoiser) -> np.ndarray:
    out = [dn.process(x[i : i + size]) for i in range(0, len(x), size)]
    return np.concatenate([*out, dn.flush()])


def test_a_block_leaves_once_its_look_ahead_has_arrived():
    dn = StreamingDenoiser(block_s=0.2, lookahead_s=0.1)
    x, _ = voice_in_noise(1.0)
    assert dn.latency == round(0.3 * RATE)
    assert len(dn.process(x[: dn.latency - 1])) == 0
    assert len(dn.process(x[dn.latency - 1 : dn.latency])) == dn.block
    assert len(dn.process(x[dn.latency : dn.latency + dn.block])) == dn.block


def test_the_output_is_the_inputs_length_whatever_the_feeds():
    x, _ = voice_in_noise(3.0)
    a = fed(x, 1920, StreamingDenoiser())
    b = fed(x, 777, StreamingDenoiser())
    assert len(a) == len(x)
    np.testing.assert_array_equal(a, b)


def test_it_takes_the_noise_down_between_words_and_keeps_the_voice():
    x, pause = voice_in_noise(6.0)
    y = fed(x, 1920, StreamingDenoiser())
    settled = np.arange(len(x)) > 2 * RATE  # the noise tracker has had its context
    before = np.mean(x[pause & settled] ** 2)
    after = np.mean(y[pause & settled] ** 2)
    assert 10 * np.log10(after / before) < -6
    voiced = ~pause & settled
    kept = np.mean(y[voiced] ** 2) / np.mean(x[voiced] ** 2)
    assert 10 * np.log10(kept) > -3
    # and no step at the block edges: the largest sample-to-sample jump stays that of the input
    assert np.max(np.abs(np.diff(y[settled]))) <= np.max(np.abs(np.diff(x[settled]))) * 1.2


def test_impossible_settings_are_refused():
    with pytest.raises(ValueError, match="crossfade"):
        StreamingDenoiser(lookahead_s=0.005, crossfade_s=0.01)
