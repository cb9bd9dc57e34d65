"""The broadcast audio chain, from any recording to a clean, equally loud delivery file.

Steps, each its own function of mono float32 ``(n,)`` samples and each switchable in
:class:`PipelineConfig`:

1. decode (PyAV) → mono → resample to the working rate  (:mod:`audio.decode`)
2. DC removal and rumble high-pass                       (:mod:`audio.filters`)
3. noise reduction                                       (:mod:`audio.denoise`)
4. trim of long leading/trailing silence                 (:mod:`audio.trim`)
5. slow leveller (AGC), then compressor                  (:mod:`audio.dynamics`)
6. gain to the target loudness with a look-ahead true-peak limiter; the gain is searched on
   a prediction of the limited loudness, the limiter runs once (:func:`normalize`)
7. encode (Opus/Ogg, WAV or MP3), then decode the written file and re-measure; if the codec
   moved the loudness or pushed the true peak over the limit, correct and encode again. Where
   only a few places were pulled down, Opus re-encodes just the windows around them
   (:mod:`audio.opus`); the file is always decoded and measured in full.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.signal as ss
from pydantic import BaseModel, ConfigDict, Field

from audio import dynamics, filters, opus
from audio.decode import decode_file
from audio.encode import container_for, replacing, write_audio
from audio.errors import EmptyAudioError
from audio.filters import k_weighting_sos
from audio.loudness import HopEnergies, hop_energies, integrated_from_hops, integrated_loudness
from audio.report import ProcessingReport, SignalReport, SourceReport, describe
from audio.resample import resample
from audio.samples import as_mono, check_rate
from audio.trim import trim_silence
from audio.truepeak import true_peak_over

log = logging.getLogger(__name__)

Progress = Callable[[float], None]
MIN_DURATION_S = 0.1


class PipelineConfig(BaseModel):
    """Settings of the audio chain. Every step can be switched off."""

    model_config = ConfigDict(extra="forbid")

    sample_rate: int = Field(
        default=16000,
        ge=8000,
        le=48000,
        description="working and output rate (Hz); 16 kHz keeps 8 kHz of audio bandwidth, "
        "more than horn loudspeakers reproduce",
    )
    max_seconds: float = Field(default=3600.0, gt=0, description="longest accepted input (s)")
    highpass: bool = Field(default=True, description="remove DC and rumble below the cutoff")
    highpass_hz: float = Field(default=80.0, gt=0, description="high-pass cutoff (Hz)")
    denoise: bool = Field(default=True, description="noise reduction (audio.denoise)")
    trim: bool = Field(default=True, description="cut long leading/trailing silence")
    trim_pad_s: float = Field(default=0.3, ge=0, description="silence kept at each end (s)")
    trim_min_silence_s: float = Field(default=0.6, ge=0, description="shorter ends are kept")
    level: bool = Field(default=True, description="slow leveller for quiet/loud passages")
    level_strength: float = Field(default=0.6, ge=0, le=1, description="0 off, 1 full levelling")
    level_max_boost_db: float = Field(default=10.0, ge=0, description="most a passage is raised")
    compress: bool = Field(default=True, description="speech compressor")
    compressor_threshold_lu: float = Field(
        default=0.0, description="threshold relative to the integrated loudness (LU)"
    )
    compressor_ratio: float = Field(default=3.0, ge=1, description="compression ratio")
    normalize: bool = Field(default=True, description="gain to the target loudness")
    target_lufs: float = Field(default=-16.0, ge=-40, le=-5, description="target loudness")
    limit: bool = Field(default=True, description="look-ahead true-peak limiter")
    true_peak_max_db: float = Field(
        default=-1.0, le=0, description="true-peak limit of the delivered (decoded) file (dBTP)"
    )
    limiter_release_db_per_s: float = Field(
        default=dynamics.LIMITER_RELEASE_DB_PER_S,
        gt=0,
        description="how fast the limiter lets go after a peak (dB/s)",
    )
    codec_headroom_db: float = Field(
        default=1.0, ge=0, description="extra limiter headroom for the lossy codec's overshoot"
    )
    bitrate: int = Field(default=32000, ge=6000, le=256000, description="Opus/MP3 bitrate")
    opus_complexity: int = Field(default=0, ge=0, le=10, description="libopus complexity")
    opus_application: Literal["audio", "voip", "lowdelay"] = Field(default="audio")
    opus_frame_ms: Literal[10, 20, 40, 60] = Field(
        default=60, description="Opus packet duration (ms); long packets cost less to code"
    )
    opus_vbr: Literal["off", "on", "constrained"] = Field(
        default="off",
        description="Opus rate control; constant bit rate keeps a re-encode's changes local",
    )
    verify_output: bool = Field(
        default=True, description="decode the written file, re-measure and correct"
    )
    max_encode_passes: int = Field(default=4, ge=1, le=6)


def _progress(progress: Progress | None, value: float) -> None:
    if progress is not None:
        progress(min(1.0, max(0.0, value)))


def denoise_step(x: np.ndarray, sr: int) -> np.ndarray:
    """Noise reduction; imported lazily so the chain works while the module is absent."""
    try:
        from audio.denoise import denoise
    except ImportError:
        log.warning("audio.denoise is not available; skipping noise reduction")
        return x
    return as_mono(denoise(x, sr))


class _LimitedLoudness:
    """Predicts the integrated loudness of ``limit(x · gain)`` without running the limiter.

    The true-peak envelope of ``x · g`` is ``g`` times that of ``x`` (computed once, exact
    wherever the limiter can act), so the limiter's gain curve for any ``g`` comes from the
    sparse peak list alone (:func:`dynamics.reduce_gain_curve`). The K-weighted energy of
    ``x`` per 0.5 ms control block is computed once; limiting scales a block's energy by the
    mean square of its gain, so the hop energies of the limited signal, and with them the
    gated loudness, follow without touching the signal.
    """

    def __init__(
        self,
        x: np.ndarray,
        sr: int,
        ceiling_db: float,
        *,
        exact: bool = True,
        release_db_per_s: float = dynamics.LIMITER_RELEASE_DB_PER_S,
    ) -> None:
        self.x, self.sr, self.exact, self.release = x, sr, exact, release_db_per_s
        self.target = float(10.0 ** (ceiling_db / 20.0)) * 0.995
        _, self.block = dynamics.reduce_gain_curve(x.size, sr, np.empty(0, np.int64), np.empty(0))
        nb = -(-x.size // self.block)
        kx = ss.sosfilt(k_weighting_sos(sr).astype(np.float32), x)
        sq = np.zeros(nb * self.block, dtype=np.float32)
        np.square(kx, out=sq[: x.size])
        del kx
        self.block_energy = sq.reshape(nb, self.block).sum(axis=1, dtype=np.float64)
        del sq
        self.hops = self._hops_from_blocks(x.size) or hop_energies(x, sr)
        starts = np.arange(nb, dtype=np.int64) * self.block
        hop = np.searchsorted(self.hops.bounds, starts, side="right") - 1
        self.block_hop = np.where(hop < self.hops.energy.size, hop, -1)
        self.env_gain = -math.inf
        self.over = np.empty(0, dtype=np.int64)
        self.peaks = np.empty(0, dtype=np.float32)

    def _hops_from_blocks(self, n: int) -> HopEnergies | None:
        """The meter's 100 ms hop energies summed from the control blocks when whole blocks
        make a hop (16 and 48 kHz): the K-weighting then runs once instead of twice."""
        hop = self.sr // 10
        if self.sr % 10 or hop % self.block:
            return None
        n_hops = n // hop
        per = hop // self.block
        energy = self.block_energy[: n_hops * per].reshape(n_hops, per).sum(axis=1)
        bounds = np.arange(n_hops + 1, dtype=np.int64) * hop
        whole = float(self.block_energy.sum()) / max(n, 1)
        return HopEnergies(energy=energy, bounds=bounds, whole=whole, n=n, sr=self.sr)

    def _envelope(self, gain_db: float) -> None:
        if gain_db <= self.env_gain:
            return
        # exact for gains up to 6 dB above this one, so a search rarely recomputes it
        self.env_gain = gain_db + 6.0
        thr = self.target / 10.0 ** (self.env_gain / 20.0)
        over, peaks = true_peak_over(self.x, self.sr, threshold=thr)
        # the limiter acts per control block: keep each block's largest peak only
        blocks = over // self.block
        if blocks.size:
            starts = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1]])
            self.over = blocks[starts] * self.block
            self.peaks = np.maximum.reduceat(peaks, starts)
        else:
            self.over, self.peaks = over, peaks

    def need(self, gain_db: float) -> tuple[np.ndarray, np.ndarray]:
        """Samples over the ceiling at ``gain_db`` and by how much (dB)."""
        self._envelope(gain_db)
        lin = self.peaks.astype(np.float64) * 10.0 ** (gain_db / 20.0)
        hit = lin > self.target
        return self.over[hit], 20.0 * np.log10(lin[hit] / self.target)

    def loudness(self, gain_db: float) -> float:
        over, need = self.need(gain_db)
        d, _ = dynamics.reduce_gain_curve(
            self.x.size, self.sr, over, need, release_db_per_s=self.release
        )
        g = np.power(10.0, -d / 20.0)
        g2 = (g[:-1] ** 2 + g[:-1] * g[1:] + g[1:] ** 2) / 3.0  # mean square of a linear ramp
        lost = (1.0 - g2) * self.block_energy
        ok = self.block_hop >= 0
        drop = np.bincount(self.block_hop[ok], weights=lost[ok], minlength=self.hops.energy.size)
        energy = np.maximum(self.hops.energy - drop, 0.0) * 10.0 ** (gain_db / 10.0)
        h = HopEnergies(
            energy=energy,
            bounds=self.hops.bounds,
            whole=self.hops.whole * 10.0 ** (gain_db / 10.0),
            n=self.hops.n,
            sr=self.sr,
        )
        return integrated_from_hops(h)

    def apply(self, gain_db: float, ceiling_db: float) -> np.ndarray:
        over, need = self.need(gain_db)
        y = dynamics.reduce_gain_at(
            self.x * np.float32(10.0 ** (gain_db / 20.0)),
            self.sr,
            over,
            need,
            release_db_per_s=self.release,
        )
        if not self.exact:
            return y
        # catches what the interpolated gain let through (rare, tiny)
        return dynamics.limit_true_peak(
            y, self.sr, ceiling_db=ceiling_db, release_db_per_s=self.release
        )


# More limiting than this ruins speech; a signal that still misses the target with it (steady
# full-scale tones, a square wave) would otherwise drive the search to absurd gains, where
# float32 overflows to inf and the limiter's arithmetic turns silence into NaN.
MAX_LIMITING_DB = 24.0


def _secant(
    f: Callable[[float], float], target: float, gain: float, iterations: int, ceiling: float
) -> float:
    """The gain, at most ``ceiling``, that brings ``f`` to ``target``."""
    tried: list[tuple[float, float]] = []
    for _ in range(iterations):
        got = f(gain)
        if abs(target - got) < 0.04:
            break
        tried.append((gain, got))
        slope = 1.0
        if len(tried) >= 2:
            (g0, l0), (g1, l1) = tried[-2], tried[-1]
            slope = (l1 - l0) / (g1 - g0) if g1 != g0 else 1.0
        gain += float(np.clip((target - got) / min(max(slope, 0.1), 1.0), -12.0, 12.0))
        gain = min(gain, ceiling)
    return gain


def _search_gain(
    x: np.ndarray,
    sr: int,
    target_lufs: float,
    ceiling_db: float,
    *,
    gain: float,
    iterations: int,
    est: _LimitedLoudness | None = None,
) -> tuple[np.ndarray, float]:
    """Secant search for the pre-limiter gain that puts the limited ``x`` on the target.

    Loudness after the limiter rises monotonically but ever more slowly with the gain (slope
    1 without limiting, about 0.2 on peaky speech limited by 7 dB). The search runs on the
    predicted loudness of :class:`_LimitedLoudness` (no limiter runs); the limiter is then
    applied once, measured, and if the prediction was off by more than 0.05 LU the gain is
    corrected by the local slope and the limiter applied once more.
    """
    est = _LimitedLoudness(x, sr, ceiling_db) if est is None else est
    most = target_lufs - integrated_from_hops(est.hops) + MAX_LIMITING_DB
    gain = _secant(est.loudness, target_lufs, min(gain, most), max(iterations, 8), most)
    y = est.apply(gain, ceiling_db)
    if not est.exact:
        # the prediction is the limited loudness to about 0.005 LU (a test checks it); without
        # the limiter's final check the only error left is the encoder's, which the chain
        # measures on the decoded file and corrects
        return y, gain
    got = integrated_loudness(y, sr)
    if abs(target_lufs - got) >= 0.05 and gain < most:
        predicted = est.loudness(gain)
        slope = (est.loudness(gain + 0.5) - predicted) / 0.5
        step = (target_lufs - got) / min(max(slope, 0.1), 1.0)
        gain = min(gain + float(np.clip(step, -12.0, 12.0)), most)
        y = est.apply(gain, ceiling_db)
    return y, gain


def normalize(
    x: np.ndarray,
    sr: int,
    *,
    target_lufs: float,
    ceiling_db: float | None,
    iterations: int = 6,
    start_gain_db: float | None = None,
    exact_ceiling: bool = True,
    release_db_per_s: float = dynamics.LIMITER_RELEASE_DB_PER_S,
) -> tuple[np.ndarray, float]:
    """Gain ``x`` to ``target_lufs`` integrated, then true-peak limit to ``ceiling_db``.

    Limiting lowers the loudness (by up to a few LU on peaky speech), so the gain is found by
    a secant search (:func:`_search_gain`) to within 0.05 LU. Returns the result and the gain
    applied before the limiter (dB). ``ceiling_db=None`` means plain gain, no limiter.
    ``start_gain_db`` starts the search from a known good gain (a re-run after encoding).
    ``exact_ceiling=False`` skips the limiter's final check, which only ever shaves hundredths
    of a dB, and the loudness measurement of the result: for a lossy encode whose decoded file
    is measured (and corrected) anyway.
    ``release_db_per_s``: the limiter's release (:data:`dynamics.LIMITER_RELEASE_DB_PER_S`).
    """
    est = (
        None
        if ceiling_db is None
        else _LimitedLoudness(
            x, sr, ceiling_db, exact=exact_ceiling, release_db_per_s=release_db_per_s
        )
    )
    loud = integrated_loudness(x, sr) if est is None else integrated_from_hops(est.hops)
    if not np.isfinite(loud):
        raise EmptyAudioError("the recording is silent: nothing to make louder")
    gain = target_lufs - loud if start_gain_db is None else start_gain_db
    if ceiling_db is None:
        return (x * np.float32(10.0 ** (gain / 20.0))).astype(np.float32), gain
    y, gain = _search_gain(
        x, sr, target_lufs, ceiling_db, gain=gain, iterations=iterations, est=est
    )
    return y, gain


def _sanitise(x: np.ndarray) -> tuple[np.ndarray, int]:
    y = as_mono(x)
    bad = ~np.isfinite(y)
    count = int(np.count_nonzero(bad))
    if count:
        y = np.where(bad, np.float32(0.0), y).astype(np.float32)
    return y, count


def _prepare(
    owned: list[np.ndarray],
    sr: int,
    config: PipelineConfig,
    progress: Progress | None,
    *,
    p0: float,
    p1: float,
) -> tuple[np.ndarray, list[str], tuple[float, float]]:
    """Steps 2-5 at the working rate: returns the compressed signal, steps, trimmed seconds.

    The input comes as a one-element list that is emptied, so the caller holds no reference
    and each step's input is freed as soon as its output exists.
    """
    steps: list[str] = []
    y = owned.pop()
    span = p1 - p0
    if config.highpass:
        y = filters.highpass(filters.remove_dc(y, sr), sr, cutoff_hz=config.highpass_hz)
        steps.append("highpass")
    _progress(progress, p0 + 0.1 * span)
    if config.denoise:
        y = denoise_step(y, sr)
        steps.append("denoise")
    _progress(progress, p0 + 0.5 * span)
    trimmed = (0.0, 0.0)
    if config.trim:
        y, t = trim_silence(y, sr, pad_s=config.trim_pad_s, min_silence_s=config.trim_min_silence_s)
        trimmed = (t.start_s, t.end_s)
        steps.append("trim")
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
    _progress(progress, p0 + 0.7 * span)
    if config.compress:
        loud = integrated_loudness(y, sr)
        y = dynamics.compress(
            y,
            sr,
            threshold_db=loud + config.compressor_threshold_lu,
            ratio=config.compressor_ratio,
        )
        steps.append("compress")
    _progress(progress, p1)
    return y, steps, trimmed


def _ceiling(config: PipelineConfig, lossy: bool) -> float | None:
    if not config.limit:
        return None
    return config.true_peak_max_db - (config.codec_headroom_db if lossy else 0.05)


def _to_working_rate(x: np.ndarray, sr: int, config: PipelineConfig) -> np.ndarray:
    """Finite mono ``x`` (sanitised, or from :func:`decode_file`, which zeroes NaN/inf) at the
    working rate."""
    y = as_mono(x)
    if y.size < MIN_DURATION_S * sr:
        raise EmptyAudioError(
            f"the recording is too short ({y.size / sr:.2f} s); at least {MIN_DURATION_S} s needed"
        )
    return resample(y, sr, config.sample_rate)


def process(
    x: np.ndarray, sr: int, config: PipelineConfig | None = None
) -> tuple[np.ndarray, int, ProcessingReport]:
    """Run the chain on mono float32 ``(n,)`` samples in memory (no encoding).

    Returns the processed samples, their rate (``config.sample_rate``) and the report. The
    limiter leaves ``codec_headroom_db`` for a lossy encoder; :func:`process_file` adjusts it
    to the chosen container.
    """
    config = config or PipelineConfig()
    sr = check_rate(sr)
    raw, nonfinite = _sanitise(x)
    before = describe(raw, sr) if raw.size else None
    y = _to_working_rate(raw, sr, config)
    rate = config.sample_rate
    y, steps, trimmed = _prepare([y], rate, config, None, p0=0.0, p1=1.0)
    y, gain = _deliverable(
        y,
        rate,
        config,
        target=config.target_lufs,
        ceiling=_ceiling(config, True),
        gain=None,
        exact=True,
    )
    if config.normalize:
        steps.append("normalize")
    if config.limit:
        steps.append("limit")
    assert before is not None
    warnings = [f"{nonfinite} NaN/inf samples were replaced by silence"] if nonfinite else []
    report = ProcessingReport(
        input=before,
        output=describe(y, rate),
        target_lufs=config.target_lufs,
        true_peak_limit_dbtp=config.true_peak_max_db,
        steps=steps,
        trimmed_start_s=round(trimmed[0], 3),
        trimmed_end_s=round(trimmed[1], 3),
        gain_db=None if gain is None else round(gain, 2),
        warnings=warnings,
    )
    return y, rate, report


def _warnings(
    source: SourceReport,
    before: SignalReport,
    after: SignalReport,
    target_lufs: float | None = None,
) -> list[str]:
    out = []
    if source.skipped_packets:
        out.append(
            f"{source.skipped_packets} of {source.total_packets} packets "
            f"({100 * source.skipped_share:.1f} %) could not be decoded and were left out"
        )
    if source.nonfinite_samples:
        out.append(f"{source.nonfinite_samples} NaN/inf samples were replaced by silence")
    if source.dropped_channels:
        out.append(f"silent channel(s) {source.dropped_channels} left out of the mix")
    if before.clipped_share > 0.001:
        out.append(f"the recording is clipped ({100 * before.clipped_share:.2f} % of samples)")
    if before.snr_db < 15:
        out.append(f"the recording is noisy (about {before.snr_db:.0f} dB signal-to-noise)")
    if after.integrated_lufs is not None and before.integrated_lufs is not None:
        boost = after.integrated_lufs - before.integrated_lufs
        if boost > 20:
            out.append(f"the recording was very quiet and was raised by {boost:.0f} dB")
    if target_lufs is not None and after.integrated_lufs is not None:
        miss = after.integrated_lufs - target_lufs
        if abs(miss) > 1.0:  # e.g. steady tones, which the denoiser takes for noise
            out.append(
                f"the output is {abs(miss):.1f} LU {'above' if miss > 0 else 'below'} the "
                f"{target_lufs:g} LUFS target: little speech-like sound was left to raise"
            )
    return out


_FIX_MARGIN_DB = 1.0  # the codec overshoots again after a fix; aim this far under the limit


def _tp_max(config: PipelineConfig) -> float:
    """Highest acceptable measured true peak: the report rounds to 0.01 dB, so one step under
    the limit makes ``≤ true_peak_max_db`` hold on the rounded figure too."""
    return config.true_peak_max_db - 0.01


def _deliverable(
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


class _PassWriter:
    """Writes each encode pass. Opus keeps its packets: a later pass whose signal changed only
    in places (codec overshoots pulled down) re-encodes just those places
    (:func:`audio.opus.reencode`)."""

    def __init__(self, dst: Path, rate: int, config: PipelineConfig, kind: str) -> None:
        self.dst, self.rate, self.config = dst, rate, config
        self.splice = kind == "ogg" and rate in opus.RATES
        self.stream: opus.OpusStream | None = None
        self.opts = opus.options(
            complexity=config.opus_complexity,
            application=config.opus_application,
            frame_ms=config.opus_frame_ms,
            vbr=config.opus_vbr,
        )

    def write(self, y: np.ndarray, changed: np.ndarray | None) -> None:
        """Write ``y``; ``changed``: the sample spans (:func:`dynamics.curve_spans`) in
        which it differs from the last pass's signal, or ``None`` if it may differ anywhere."""
        c = self.config
        if not self.splice:
            write_audio(
                self.dst,
                y,
                self.rate,
                bitrate=c.bitrate,
                opus_complexity=c.opus_complexity,
                opus_application=c.opus_application,
                opus_frame_ms=c.opus_frame_ms,
                opus_vbr=c.opus_vbr,
            )
            return
        if self.stream is None or changed is None:
            self.stream = opus.encode(y, self.rate, bitrate=c.bitrate, opts=self.opts)
        else:
            self.stream = opus.reencode(self.stream, y, changed)
        with replacing(self.dst) as tmp:
            opus.write(tmp, self.stream)


def _near_violations(
    over: np.ndarray, peaks: np.ndarray, sr: int, tp_max_db: float
) -> tuple[np.ndarray, np.ndarray]:
    """The peaks (above the fix margin, at decoded samples ``over``) within half a second of
    one over ``tp_max_db``. The next encode changes the packets there, so any of them may come
    back over the limit; elsewhere the packets stay as they are (:mod:`audio.opus`)."""
    bad = over[peaks > np.float32(10.0 ** (tp_max_db / 20.0))]
    if bad.size == 0:
        return over[:0], peaks[:0]
    reach = sr // 2
    i = np.searchsorted(bad, over)
    after = np.abs(bad[np.minimum(i, bad.size - 1)] - over)
    before = np.abs(over - bad[np.maximum(i - 1, 0)])
    keep = np.minimum(after, before) <= reach
    return over[keep], peaks[keep]


def _codec_overshoot_need(
    over: np.ndarray, peaks: np.ndarray, decoded_sr: int, rate: int, *, n: int, limit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Working-rate samples and the dB by which the decoded file's true peak (``peaks`` at
    decoded samples ``over``) is over ``limit`` (which includes a margin) there, spread over
    ±10 ms to cover codec delay and smearing; sparse, for :func:`dynamics.reduce_gain_at`."""
    if over.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    spread = max(1, round(0.010 * rate))
    idx = np.minimum((over.astype(np.int64) * rate) // decoded_sr, n - 1)
    need = 20.0 * np.log10(peaks.astype(np.float64) / limit)
    # one entry per working-rate sample (``over`` is sorted), its largest need
    order = np.argsort(idx, kind="stable")
    idx, need = idx[order], need[order]
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    idx, need = idx[starts], np.maximum.reduceat(need, starts)
    # ±spread samples, in steps of the limiter's 0.5 ms control block: every block the
    # spread reaches gets an entry (reduce_gain_at works per block)
    block = max(1, round(rate / 2000))
    reach = -(-spread // block)
    offsets = np.arange(-reach, reach + 1, dtype=np.int64) * block
    spread_idx = np.clip(idx[:, None] + offsets[None, :], 0, n - 1).ravel()
    return spread_idx, np.repeat(need, offsets.size)


def process_file(
    src: Path,
    dst: Path,
    config: PipelineConfig | None = None,
    progress: Progress | None = None,
) -> ProcessingReport:
    """Decode ``src``, run the chain, write ``dst`` (container from its extension).

    With ``verify_output`` the written file is decoded and measured again; if the codec moved
    the loudness by more than 0.15 LU or pushed the true peak above ``true_peak_max_db``, the
    gain or the limiter ceiling is corrected and the file encoded again (at most
    ``max_encode_passes`` times). The report's output figures are those of the final file.
    """
    config = config or PipelineConfig()
    src, dst = Path(src), Path(dst)
    kind = container_for(dst)  # fail on a bad output name before any work
    _progress(progress, 0.0)
    dec = decode_file(src, max_seconds=config.max_seconds)
    source = SourceReport(
        file_name=src.name,
        container=dec.source_format,
        codec=dec.codec,
        channels=dec.channels,
        sample_rate=dec.source_rate,
        total_packets=dec.total_packets,
        skipped_packets=dec.skipped_packets,
        skipped_share=round(dec.skipped_share, 4),
        nonfinite_samples=dec.nonfinite_samples,
        dropped_channels=dec.dropped_channels,
    )
    _progress(progress, 0.1)
    before = describe(dec.samples, dec.sample_rate)
    owned = [_to_working_rate(dec.samples, dec.sample_rate, config)]
    del dec
    rate = config.sample_rate
    _progress(progress, 0.2)
    pre, steps, trimmed = _prepare(owned, rate, config, progress, p0=0.2, p1=0.6)
    lossy = kind != "wav"
    ceiling = _ceiling(config, lossy)
    target = config.target_lufs
    gain: float | None = None
    passes = 0
    after: SignalReport | None = None
    base = pre
    fixes: list[tuple[np.ndarray, np.ndarray]] = []  # codec overshoots pulled down, kept
    renormalize = True
    writer = _PassWriter(dst, rate, config, kind)
    new_fix = np.empty((0, 2), dtype=np.int64)  # where the latest fix changed the signal
    for attempt in range(config.max_encode_passes):
        passes = attempt + 1
        last = passes == config.max_encode_passes
        changed = None if renormalize else new_fix
        if renormalize:
            base, gain = _deliverable(
                pre,
                rate,
                config,
                target=target,
                ceiling=ceiling,
                gain=gain,
                exact=not config.verify_output,  # the written file is measured and fixed
            )
            renormalize = False
        y = base
        for over, need in fixes:
            y = dynamics.reduce_gain_at(
                y, rate, over, need, release_db_per_s=config.limiter_release_db_per_s
            )
        _progress(progress, 0.7 + 0.1 * attempt / config.max_encode_passes)
        writer.write(y, changed)
        del y
        if not config.verify_output:
            after = describe(base, rate)
            break
        out = decode_file(dst, max_seconds=config.max_seconds + 60)
        limit = 10.0 ** ((config.true_peak_max_db - _FIX_MARGIN_DB) / 20.0)
        over_limit = False
        if lossy and ceiling is not None and not last and not fixes:
            # hot speech often comes back from its first encode over the limit: find that
            # cheaply (the true peak is interpolated only near the limit) before measuring
            # everything; after a fix it rarely does, and the full measurement tells
            over, peaks = true_peak_over(out.samples, out.sample_rate, threshold=limit)
            over_limit = bool(peaks.size) and 20.0 * math.log10(float(peaks.max())) > _tp_max(
                config
            )
        if not over_limit:
            full = describe(out.samples, out.sample_rate)
            tp = full.true_peak_dbtp if full.true_peak_dbtp is not None else -math.inf
            loud = full.integrated_lufs if full.integrated_lufs is not None else -math.inf
            loud_err = config.target_lufs - loud if config.normalize else 0.0
            over_limit = ceiling is not None and tp > _tp_max(config)
            if (not over_limit and abs(loud_err) <= 0.15) or last:
                after = full
                if over_limit or abs(loud_err) > 0.15:
                    log.warning("output still off target after %d encodes", passes)
                break
            if over_limit:
                over, peaks = true_peak_over(out.samples, out.sample_rate, threshold=limit)
            else:
                target += loud_err
                gain = None if gain is None else gain + loud_err
                renormalize = True
        if over_limit:
            # the codec overshot in a few places: pull those down, keep the rest
            over, peaks = _near_violations(over, peaks, out.sample_rate, _tp_max(config))
            fix = _codec_overshoot_need(over, peaks, out.sample_rate, rate, n=pre.size, limit=limit)
            fixes.append(fix)
            curve, block = dynamics.reduce_gain_curve(
                pre.size, rate, *fix, release_db_per_s=config.limiter_release_db_per_s
            )
            new_fix = dynamics.curve_spans(curve, block, pre.size)
        del out
    _progress(progress, 1.0)
    assert after is not None
    if config.normalize:
        steps.append("normalize")
    if config.limit:
        steps.append("limit")
    steps.append(f"encode:{kind}")
    return ProcessingReport(
        source=source,
        input=before,
        output=after,
        target_lufs=config.target_lufs,
        true_peak_limit_dbtp=config.true_peak_max_db,
        steps=steps,
        trimmed_start_s=round(trimmed[0], 3),
        trimmed_end_s=round(trimmed[1], 3),
        gain_db=None if gain is None else round(gain, 2),
        output_file=dst.name,
        output_format=kind,
        output_bitrate=None if kind == "wav" else config.bitrate,
        encode_passes=passes,
        warnings=_warnings(source, before, after, config.target_lufs if config.normalize else None),
    )
