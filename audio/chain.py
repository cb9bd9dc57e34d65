"""Steps 2-6 of the chain at the working rate, each as :class:`PipelineConfig` switches it:
high-pass, noise reduction, trim, leveller and compressor (:func:`prepare`), then gain and
limiter (:func:`deliverable`)."""

from __future__ import annotations

import logging

import numpy as np

from audio import dynamics, filters
from audio.config import PipelineConfig, Progress, report_progress
from audio.denoise_select import run_denoiser
from audio.errors import EmptyAudioError, TooShortAudioError
from audio.loudness import hop_energies, integrated_from_hops, integrated_loudness
from audio.normalize import normalize
from audio.resample import resample
from audio.samples import as_mono
from audio.trim import find_speech_bounds, trim_silence

log = logging.getLogger(__name__)

MIN_DURATION_S = 0.1


def sanitise(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Mono ``x`` with NaN/inf samples zeroed, and how many there were."""
    y = as_mono(x)
    bad = ~np.isfinite(y)
    count = int(np.count_nonzero(bad))
    if count:
        y = np.where(bad, np.float32(0.0), y).astype(np.float32)
    return y, count


def prepare(
    owned: list[np.ndarray],
    sr: int,
    config: PipelineConfig,
    progress: Progress | None,
    *,
    p0: float,
    p1: float,
) -> tuple[np.ndarray, list[str], tuple[float, float], list[str]]:
    """Steps 2-5 at the working rate: returns the compressed signal, steps, trimmed seconds
    and the denoiser's codes of what it did.

    The input comes as a one-element list that is emptied, so the caller holds no reference
    and each step's input is freed as soon as its output exists.
    """
    steps: list[str] = []
    y = owned.pop()
    span = p1 - p0
    if config.highpass:
        y = filters.remove_dc(y, sr)  # each step's input let go once its output exists
        y = filters.highpass_zero_phase(y, sr, cutoff_hz=config.highpass_hz)
        steps.append("highpass")
    report_progress(progress, p0 + 0.1 * span)
    done: list[str] = []
    if config.denoise:
        y, done = run_denoiser(y, sr, config.denoise_method, config.neural_max_rtf)
        steps.append("denoise")
    report_progress(progress, p0 + 0.5 * span)
    trimmed = (0.0, 0.0)
    if config.trim:
        y, t = trim_silence(y, sr, pad_s=config.trim_pad_s, min_silence_s=config.trim_min_silence_s)
        trimmed = (t.start_s, t.end_s)
        steps.append("trim")
    check_sound_length(y, sr, config.min_speech_s)  # a tap on the button: short, not silent
    hops = hop_energies(y, sr)
    if not np.isfinite(integrated_from_hops(hops)):
        raise EmptyAudioError("the recording is silent (nothing above -70 LUFS)")
    if config.level:
        y = dynamics.level(
            y,
            sr,
            strength=config.level_strength,
            max_boost_db=config.level_max_boost_db,
            hops=hops,
        )
        steps.append("level")
    del hops
    report_progress(progress, p0 + 0.7 * span)
    if config.compress:
        loud = integrated_loudness(y, sr)
        y = dynamics.compress(
            y,
            sr,
            threshold_db=loud + config.compressor_threshold_lu,
            ratio=config.compressor_ratio,
        )
        steps.append("compress")
    report_progress(progress, p1)
    return y, steps, trimmed, done


def check_sound_length(y: np.ndarray, sr: int, minimum_s: float) -> None:
    """Refuse a recording with less than ``minimum_s`` of sound between its silent ends; one
    long enough but silent throughout is left for the silence check to name."""
    if minimum_s <= 0:
        return
    bounds = find_speech_bounds(y, sr)
    if bounds is None and y.size >= minimum_s * sr:
        return
    sound_s = (bounds[1] - bounds[0]) / sr if bounds else y.size / sr
    if sound_s < minimum_s:
        raise TooShortAudioError(
            f"the recording is too short ({sound_s:.1f} s of sound); "
            f"at least {minimum_s:g} s needed"
        )


def limiter_ceiling(config: PipelineConfig, lossy: bool) -> float | None:
    """The limiter's ceiling: under the true-peak limit by the codec's headroom when lossy."""
    if not config.limit:
        return None
    return config.true_peak_max_db - (config.codec_headroom_db if lossy else 0.05)


def to_working_rate(x: np.ndarray, sr: int, config: PipelineConfig) -> np.ndarray:
    """Finite mono ``x`` (sanitised, or from :func:`decode_file`, which zeroes NaN/inf) at the
    working rate."""
    y = as_mono(x)
    check_duration(y.size, sr)
    return resample(y, sr, config.sample_rate)


def check_duration(n: int, sr: int) -> None:
    """Refuse fewer than ``MIN_DURATION_S`` of samples at rate ``sr``."""
    if n < MIN_DURATION_S * sr:
        raise TooShortAudioError(
            f"the recording is too short ({n / sr:.2f} s); at least {MIN_DURATION_S} s needed"
        )


def deliverable(
    pre: np.ndarray,
    rate: int,
    config: PipelineConfig,
    *,
    target: float,
    ceiling: float | None,
    gain: float | None,
    exact: bool,
) -> tuple[np.ndarray, float | None]:
    """Gain to ``target`` and limit to ``ceiling`` as configured; returns the signal and gain.
    ``exact=False``: the result will be measured anyway (:func:`normalize`'s ``exact_ceiling``)."""
    if config.normalize:
        return normalize(
            pre,
            rate,
            target_lufs=target,
            ceiling_db=ceiling,
            start_gain_db=gain,
            exact_ceiling=exact,
            release_db_per_s=config.limiter_release_db_per_s,
        )
    if ceiling is not None:
        limited = dynamics.limit_true_peak(
            pre, rate, ceiling_db=ceiling, release_db_per_s=config.limiter_release_db_per_s
        )
        return limited, gain
    return pre, gain
