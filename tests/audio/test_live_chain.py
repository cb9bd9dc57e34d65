"""The live chain: a voice as loud as a bulletin, never clipped, whatever the block sizes."""

from __future__ import annotations

import numpy as np

from audio.live_chain import LiveChain
from audio.loudness import integrated_loudness
from audio.truepeak import true_peak_db

RATE = 48000


def speechlike(seconds: float, level: float, seed: int = 1) -> np.ndarray:
    """Noise in syllables (3 per second) with pauses: the envelope a leveller meets in speech."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    syllables = (np.sin(2 * np.pi * 3 * t) > 0.2).astype(np.float32)
    return (rng.standard_normal(t.size) * level * syllables).astype(np.float32)


def run(chain: LiveChain, x: np.ndarray, block: int) -> np.ndarray:
    out = [chain.process(x[i : i + block]) for i in range(0, len(x), block)]
    return np.concatenate([*out, chain.flush()])


def test_a_quiet_voice_is_brought_to_the_bulletin_loudness():
    x = speechlike(12, 0.02)  # about -34 LUFS: a phone held at arm's length
    y = run(LiveChain(target_lufs=-16.0), x, 960)
    assert integrated_loudness(x, RATE) < -30
    assert abs(integrated_loudness(y[6 * RATE :], RATE) - -16.0) < 1.5  # once it settled


def test_a_shout_and_a_click_never_pass_the_true_peak_ceiling():
    x = speechlike(6, 0.3)
    x[3 * RATE : 3 * RATE + 100] = 1.0  # a knock on the microphone
    y = run(LiveChain(target_lufs=-16.0, true_peak_max_db=-1.0), np.clip(x, -1, 1), 1000)
    assert true_peak_db(y, RATE) <= -1.0 + 0.05


def test_the_output_does_not_depend_on_how_the_input_was_cut():
    x = speechlike(3, 0.05, seed=2)
    a = run(LiveChain(), x, 960)
    b = run(LiveChain(), x, 777)
    assert len(a) == len(b)
    np.testing.assert_array_equal(a, b)


def test_the_output_lags_the_input_by_the_look_ahead_only():
    chain = LiveChain()
    x = speechlike(1, 0.05)
    y = run(chain, x, 480)
    assert len(y) >= len(x) + chain.latency
    assert chain.latency == 240  # 5 ms at 48 kHz


def test_with_the_denoiser_the_noise_between_words_falls_and_the_timing_holds():
    from tests.audio.test_live_denoise import voice_in_noise

    x, pause = voice_in_noise(5.0)
    plain, cleaned = LiveChain(), LiveChain(denoise=True)
    a, b = run(plain, x, 1920), run(cleaned, x, 1920)
    assert len(a) == len(b)  # the same samples: the packets keep their source times
    assert cleaned.latency == plain.latency
    assert cleaned.wait == round(0.3 * RATE)  # what the points' delay must absorb
    lag = plain.latency
    settled = np.arange(len(x)) > 3 * RATE
    quiet = np.zeros(len(a), bool)
    quiet[lag : lag + len(x)] = pause & settled
    # the leveller raises both alike; the denoised one carries less noise in the pauses
    assert 10 * np.log10(np.mean(b[quiet] ** 2) / np.mean(a[quiet] ** 2)) < -6
    voiced = np.zeros(len(a), bool)
    voiced[lag : lag + len(x)] = ~pause & settled
    assert np.corrcoef(a[voiced], b[voiced])[0, 1] > 0.9  # the voice, in the same place
