"""The chain's signal-processing primitives give scipy.signal's numbers without importing it.

scipy.signal is the reference here (tests may import it); the chain itself may not: importing
it costs ``loa process`` 1.2 s of start-up and the controller about 90 MB (BENCHMARKS.md), so a
test below fails if the controller, ``loa process``'s chain or the live chain pulls it in, or
``scipy.ndimage``, ``scipy.fft`` or ``scipy.special`` (0.16 s of `loa process`'s start-up
together: ``audio.running``, ``audio.fft`` and ``audio.lsa.exp1`` stand in for them, tested
in ``test_running.py`` and ``test_fft.py``).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal as ss

from audio.filters import butter_highpass_sos, highpass, k_weighting_sos
from audio.fir import kaiser_lowpass, resample_poly
from audio.iir import SosFilter, sosfilt
from audio.welch import welch

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return np.random.default_rng(16).standard_normal(100_003)


@pytest.mark.parametrize(
    ("order", "cutoff", "sr"),
    [(1, 80.0, 48000), (2, 30.0, 16000), (3, 500.0, 8000), (4, 80.0, 48000), (5, 120.0, 44100)],
)
def test_butterworth_high_pass_is_scipys_design(order: int, cutoff: float, sr: int) -> None:
    ours = butter_highpass_sos(sr, cutoff, order)
    ref = ss.butter(order, cutoff, btype="highpass", fs=sr, output="sos")
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def test_high_pass_design_refuses_a_cutoff_past_nyquist() -> None:
    with pytest.raises(ValueError, match="below 4000"):
        butter_highpass_sos(8000, 4000.0, 4)
    with pytest.raises(ValueError, match="order"):
        butter_highpass_sos(8000, 100.0, 0)


@pytest.mark.parametrize("sr", [8000, 44100, 48000])
def test_sosfilt_equals_scipy(noise: np.ndarray, sr: int) -> None:
    for sos in (np.array(k_weighting_sos(sr)), np.array(butter_highpass_sos(sr, 80.0, 4))):
        np.testing.assert_allclose(sosfilt(sos, noise), ss.sosfilt(sos, noise), rtol=0, atol=1e-9)


def test_one_pole_smoother_equals_lfilter(noise: np.ndarray) -> None:
    a = 0.9
    ours = sosfilt([[1 - a, 0, 0, 1, -a, 0]], noise)
    np.testing.assert_allclose(ours, ss.lfilter([1 - a], [1, -a], noise), rtol=0, atol=1e-12)


def test_a_stream_filter_carries_its_state_across_any_chunking(noise: np.ndarray) -> None:
    sos = np.array(k_weighting_sos(48000))  # scipy wants a writable copy
    whole = ss.sosfilt(sos, noise)
    stream = SosFilter(sos)
    cuts = [0, 1, 480, 481, 70_000, 70_001, noise.size]  # one sample, a live hop, > one frame
    pieces = [stream(noise[a:b]) for a, b in itertools.pairwise(cuts)]
    np.testing.assert_allclose(np.concatenate(pieces), whole, rtol=0, atol=1e-9)


def test_float32_output_keeps_float64_accuracy(noise: np.ndarray) -> None:
    x = noise.astype(np.float32)
    out = sosfilt(k_weighting_sos(16000), x, dtype=np.float32)
    assert out.dtype == np.float32
    ref = ss.sosfilt(np.array(k_weighting_sos(16000)), x.astype(np.float64))
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)


def test_bad_sections_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"shape \(k, 6\)"):
        sosfilt(np.ones((2, 5)), np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        sosfilt([[1, 0, 0, 1, np.nan, 0]], np.zeros(4))
    with pytest.raises(ValueError, match="a0"):
        sosfilt([[1, 0, 0, 0, 0, 0]], np.zeros(4))
    with pytest.raises(ValueError, match="mono"):
        sosfilt(k_weighting_sos(48000), np.zeros((4, 2)))


def test_high_pass_starts_in_its_steady_state_like_scipy(noise: np.ndarray) -> None:
    x = (noise[:48000] * 0.1 + 0.3).astype(np.float32)  # an offset: no click at the start
    sos = ss.butter(4, 80.0, btype="highpass", fs=48000, output="sos")
    ref, _ = ss.sosfilt(sos, x.astype(np.float64), zi=ss.sosfilt_zi(sos) * float(x[0]))
    out = highpass(x, 48000)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("numtaps", "cutoff", "beta"), [(3201, 1 / 160, 5.0), (61, 1 / 3, 5.0), (64, 1 / 4, 7.0)]
)
def test_kaiser_low_pass_is_firwin(numtaps: int, cutoff: float, beta: float) -> None:
    ref = ss.firwin(numtaps, cutoff, window=("kaiser", beta))
    np.testing.assert_allclose(kaiser_lowpass(numtaps, cutoff, beta), ref, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("up", "down", "n"),
    [(160, 147, 30_011), (147, 160, 30_011), (6, 1, 8000), (1, 3, 30_000), (2, 3, 5), (3, 2, 1)],
)
def test_polyphase_resampling_equals_resample_poly(up: int, down: int, n: int) -> None:
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    taps = ss.firwin(20 * max(up, down) + 1, 1 / max(up, down), window=("kaiser", 5.0))
    taps = taps.astype(np.float32)
    ours = resample_poly(x, up, down, taps)
    ref = ss.resample_poly(x, up, down, window=taps)
    assert ours.shape == ref.shape
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize(("up", "down"), [(1, 3), (3, 1), (1, 2), (2, 3), (1, 6), (6, 1)])
@pytest.mark.parametrize("n", [1, 2, 95, 96, 97, 30_011])
def test_resampling_with_overlapping_windows_is_resample_poly_to_float32_rounding(
    up: int, down: int, n: int
) -> None:
    """Where one output's input window overlaps the next (the step ``down`` is under the
    filter's length: 48 → 16 kHz, 16 → 48 kHz), rows of windows are multiplied as blocks
    (audio.fir._blocked): each output the same sum of the same products, in another order."""
    x = np.random.default_rng(n + up).uniform(-1.0, 1.0, n).astype(np.float32)
    taps = ss.firwin(20 * max(up, down) + 1, 1 / max(up, down), window=("kaiser", 5.0))
    taps = taps.astype(np.float32)
    ours = resample_poly(x, up, down, taps)
    ref = ss.resample_poly(x.astype(np.float64), up, down, window=taps.astype(np.float64))
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-6)


@pytest.mark.parametrize("nperseg", [4000, 4001])
def test_welch_equals_scipy(noise: np.ndarray, nperseg: int) -> None:
    f, p = welch(noise, 8000, nperseg=nperseg)
    rf, rp = ss.welch(noise, 8000, nperseg=nperseg, noverlap=nperseg // 2)
    np.testing.assert_allclose(f, rf, rtol=0, atol=1e-12)
    np.testing.assert_allclose(p, rp, rtol=1e-9, atol=0)


def test_welch_refuses_a_segment_longer_than_the_signal() -> None:
    with pytest.raises(ValueError, match="segment"):
        welch(np.zeros(10), 8000, nperseg=11)


# Run in a clean interpreter (-I, so this test's own scipy.signal cannot leak in): what each step
# loaded, lazily imported modules included, is what a user's process would hold.
_STEPS = """
import json, sys
sys.path.insert(0, {repo!r})
HEAVY = ("scipy.signal", "scipy.ndimage", "scipy.fft", "scipy.special", "scipy._lib._array_api")
loaded = {{}}
def step(name):
    loaded[name] = sorted(m for m in sys.modules if m.startswith(HEAVY))
from controller.cli import main
assert main(["process", "--quiet", {src!r}, {dst!r}]) == 0
step("loa process")
import numpy as np
from audio.live_chain import LiveChain
chain = LiveChain(denoise=True)
chain.process(np.zeros(48000, np.float32)); chain.flush()
step("live chain")
import controller.api.app, controller.broadcast.ingest, controller.tts.synth
step("controller app")
print(json.dumps(loaded))
"""


def test_loa_process_the_live_chain_and_the_controller_never_load_scipys_heavy_modules(
    speech_wav: Path, tmp_path: Path
) -> None:
    script = _STEPS.format(repo=str(REPO), src=str(speech_wav), dst=str(tmp_path / "out.ogg"))
    out = subprocess.run(
        [sys.executable, "-I", "-c", script],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == {"loa process": [], "live chain": [], "controller app": []}
    assert (tmp_path / "out.ogg").stat().st_size > 0
