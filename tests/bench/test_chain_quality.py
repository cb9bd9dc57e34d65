"""The whole-chain figure's plumbing: the chain's output lined up with its input."""

from __future__ import annotations

import numpy as np
import pytest

from audio.config import PipelineConfig
from bench.chain_quality import line_up, whole_chain

SR = 16000


def _speechlike(n: int, seed: int = 0) -> np.ndarray:
    """Noise bursts with pauses between them: a signal with one clear alignment."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(np.float32) * np.float32(0.1)
    x[np.arange(n) % 4000 < 1500] = 0.0
    return x


@pytest.mark.parametrize("lag", [0, 480, -1200])
def test_line_up_undoes_a_delay_or_a_trimmed_start(lag: int) -> None:
    x = _speechlike(SR * 2)
    # a codec's delay puts silence in front; a trim cuts the start away
    y = np.concatenate([np.zeros(lag, np.float32), x]) if lag >= 0 else x[-lag:]
    out = line_up(y, x, max_lag=SR)
    assert out.shape == x.shape
    start = max(0, -lag)
    np.testing.assert_array_equal(out[start:], x[start:])
    assert not out[:start].any()  # what the trim cut is silence, not something else moved in


def test_whole_chain_with_every_step_off_gives_the_input_back() -> None:
    x = _speechlike(SR * 2, seed=1)
    off = PipelineConfig(
        highpass=False,
        denoise=False,
        trim=False,
        level=False,
        compress=False,
        normalize=False,
        limit=False,
    )
    y = whole_chain(x, SR, off, container="wav")
    np.testing.assert_allclose(y, x, atol=1e-4)  # 16-bit WAV


def test_speech_through_the_chain_as_aired_keeps_its_quality() -> None:
    """Opus below complexity 7 codes speech as music (2.8 PESQ-WB here; 3.6 at 7, the
    default)."""
    pytest.importorskip("pesq")
    from pesq import pesq

    from tests.support.audio import bulletin, have_espeak

    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    x = bulletin(8.0, SR)
    assert pesq(SR, x, whole_chain(x, SR), "wb") > 3.3  # the defaults, as the controller airs
