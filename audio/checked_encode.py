"""Step 7 of the chain: encode, decode the written file, measure it, and correct until it
meets the targets.

A lossy codec moves the loudness a little and overshoots the true peak in places. Each pass
writes the file, decodes and measures it, and decides (:func:`_judge`): keep it, pull the
overshoots down where they happened (:class:`_Fixes`; Opus then re-encodes only the windows
around them, :mod:`audio.opus`), or level again by the loudness error. The file is always
decoded and measured in full before it is kept.

An Opus file that is only off the loudness target (at complexity 7 libopus's speech coding
leaves clean speech 0.2-0.3 LU quiet) is put back on it by the Ogg Opus header's output gain
(:func:`header_gain`): the same packets are written again, decoded and measured, with no
second encode. Where the gain lifts a few peaks over the limit, those are pulled down as well
and only the windows around them re-encoded. Only where the gain would move the level more
than :data:`MAX_HEADER_GAIN_DB`, or a player that ignores it would get a true peak over the
limit, is the signal levelled and encoded again. And if the passes run out with the true peak
still over the limit, the header gain is lowered by the excess (:func:`_pull_under`): the file
comes out quieter than the target, which the report says, never over the limit.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from audio import dynamics, opus
from audio.analysis import describe
from audio.chain import deliverable, limiter_ceiling
from audio.config import PipelineConfig, Progress, report_progress
from audio.decode_working import measure_file
from audio.encode import replacing, write_audio
from audio.report import SignalReport

log = logging.getLogger(__name__)

_FIX_MARGIN_DB = 1.0  # the codec overshoots again after a fix; aim this far under the limit
_LOUDNESS_TOLERANCE_LU = 0.15  # the decoded file's loudness may miss the target by this much
# the most the Opus header's gain may move the level: a player that ignores the gain (RFC 7845
# says decoders apply it; FFmpeg, hence the node and Chromium, does) stays within 1 LU of target
MAX_HEADER_GAIN_DB = 1.0


@dataclass(frozen=True)
class Encoded:
    """The file as written: its measurements, the gain that made it, the passes it took (each
    written, decoded and measured) and how many of them encoded the whole signal."""

    output: SignalReport
    gain_db: float | None
    passes: int
    whole_encodes: int
    header_gain_db: float = 0.0


def encode_checked(
    pre: np.ndarray,
    rate: int,
    dst: Path,
    kind: str,
    config: PipelineConfig,
    *,
    progress: Progress | None = None,
) -> Encoded:
    """Level and limit ``pre`` (the prepared signal at ``rate``), write it to ``dst`` as
    ``kind``, and with ``verify_output`` measure the written file and correct it: a loudness
    more than 0.15 LU off is corrected by the Opus header gain or levelled again, a true peak
    above ``true_peak_max_db`` pulled down where it happened; at most ``max_encode_passes``
    passes (each written, decoded and measured)."""
    lossy = kind != "wav"
    ceiling = limiter_ceiling(config, lossy)
    writer = _PassWriter(dst, rate, config, kind)
    fixes = _Fixes(pre.size, rate, config)
    target, gain = config.target_lufs, None
    base: np.ndarray | None = None  # levelled and limited; None: level (again) first
    regain: float | None = None  # set: the next pass writes with this Opus header gain ...
    only_header = False  # ... and the same packets
    for attempt in range(config.max_encode_passes):
        passes = attempt + 1
        last = passes == config.max_encode_passes
        changed = None if base is None else fixes.latest
        if base is None:
            base, gain = deliverable(
                pre,
                rate,
                config,
                target=target,
                ceiling=ceiling,
                gain=gain,
                exact=not config.verify_output,  # the written file is measured and fixed
            )
        report_progress(progress, 0.7 + 0.1 * attempt / config.max_encode_passes)
        if regain is not None:
            writer.set_gain(regain)
        if only_header:
            writer.rewrite()
        else:
            writer.write(fixes.apply(base), changed)
        if not config.verify_output:
            return Encoded(describe(base, rate), gain, passes, writer.whole_encodes)
        verdict = _judge(
            dst,
            config,
            limited=ceiling is not None,
            quick=lossy and ceiling is not None and not last and not fixes,
            last=last,
            passes=passes,
            # the header gain may follow: the peaks it would lift over the limit are gathered now
            reach_db=MAX_HEADER_GAIN_DB if writer.splice and not last else 0.0,
        )
        regain, only_header = None, False
        if verdict.keep is not None:
            kept = verdict.keep
            if writer.splice and ceiling is not None and _over(kept, config):
                kept = _pull_under(writer, kept, config)
            return Encoded(kept, gain, passes, writer.whole_encodes, writer.gain_db)
        if verdict.overshoot is not None:
            fixes.add(verdict.overshoot)
        elif (
            writer.splice
            and (
                regain := header_gain(
                    writer.gain_db, verdict.loudness_error, verdict.true_peak_db, _tp_max(config)
                )
            )
            is not None
        ):
            step = regain - writer.gain_db
            if verdict.true_peak_db + step <= _tp_max(config):
                only_header = True
            else:  # the gain lifts a few peaks over the limit: pull those down as well
                fixes.add(_lifted_overshoot(dst, step, config, verdict.gathered))
        else:
            target += verdict.loudness_error
            gain = None if gain is None else gain + verdict.loudness_error
            base = None
    raise AssertionError("the last pass keeps its file")


def header_gain(
    current_db: float, loudness_error: float, true_peak_db: float, tp_max_db: float
) -> float | None:
    """The Opus header gain that moves the decoded file (measured with ``current_db`` applied:
    ``loudness_error`` LU under the target, true peak ``true_peak_db``) onto the target, or
    ``None`` if it would exceed :data:`MAX_HEADER_GAIN_DB` or the packets' own true peak (what a
    player that ignores the gain plays) would be over ``tp_max_db``. Peaks it lifts over the
    limit for decoders that apply it are the caller's to pull down."""
    new = opus.gain_step(current_db + loudness_error)
    if abs(new) > MAX_HEADER_GAIN_DB:
        return None
    if true_peak_db - current_db > tp_max_db:
        return None
    return new


def _over(report: SignalReport, config: PipelineConfig) -> bool:
    return report.true_peak_dbtp is not None and report.true_peak_dbtp > _tp_max(config)


def _pull_under(writer: _PassWriter, kept: SignalReport, config: PipelineConfig) -> SignalReport:
    """The passes ran out with the true peak over the limit: lower the header gain by the
    excess (the file comes out quieter than the target, and the report says so), write the
    same packets again, and decode and measure them in full."""
    assert kept.true_peak_dbtp is not None
    excess = kept.true_peak_dbtp - _tp_max(config)
    writer.set_gain(opus.gain_step(writer.gain_db - excess) - 1 / 256)  # rounding down
    writer.rewrite()
    full = measure_file(writer.dst, max_seconds=config.max_seconds + 60).report
    assert full is not None
    if _over(full, config):
        raise AssertionError(f"true peak {full.true_peak_dbtp} dBTP after lowering the gain")
    log.warning("true peak over the limit when the passes ran out: %.2f dB quieter", excess)
    return full


def _lifted_overshoot(
    dst: Path, step_db: float, config: PipelineConfig, gathered: _Overshoot | None
) -> _Overshoot:
    """The overshoots of the written file as it decodes with ``step_db`` more header gain: the
    places over the fix limit lowered by the lift, taken from what :func:`_judge` ``gathered``
    when it reached that low (the same envelope values: a second decode and measurement of the
    whole file saved), else measured again as it decodes."""
    lift = float(10.0 ** (step_db / 20.0))
    level = _fix_limit(config) / lift
    if gathered is not None and gathered.above <= level:
        found = gathered.above_level(level)
    else:
        out = measure_file(dst, max_seconds=config.max_seconds + 60, over=level)
        found = _Overshoot(out.over, out.peaks, out.sample_rate, level)
    return _Overshoot(found.over, found.peaks * np.float32(lift), found.sample_rate, level * lift)


def _tp_max(config: PipelineConfig) -> float:
    """Highest acceptable measured true peak: the report rounds to 0.01 dB, so one step under
    the limit makes ``≤ true_peak_max_db`` hold on the rounded figure too."""
    return config.true_peak_max_db - 0.01


def _fix_limit(config: PipelineConfig) -> float:
    """The linear level that a fix pulls the codec's overshoots down to."""
    return float(10.0 ** ((config.true_peak_max_db - _FIX_MARGIN_DB) / 20.0))


@dataclass(frozen=True)
class _Overshoot:
    """Decoded samples where the written file's true peak is over a level (the fix limit, or
    ``above`` when gathered lower), and the peaks there, at the decoded ``sample_rate``."""

    over: np.ndarray
    peaks: np.ndarray
    sample_rate: int
    above: float  # every decoded sample whose true-peak envelope exceeds this is listed

    def above_level(self, level: float) -> _Overshoot:
        """The places over ``level`` (not below :attr:`above`): what measuring with that
        threshold gives, since the envelope is exact wherever it exceeds the threshold."""
        assert level >= self.above
        keep = self.peaks > level
        return _Overshoot(self.over[keep], self.peaks[keep], self.sample_rate, level)


@dataclass(frozen=True)
class _Verdict:
    """What measuring a written file decided: ``keep`` it, pull its ``overshoot`` down, or
    level again by ``loudness_error`` (LU)."""

    keep: SignalReport | None = None
    overshoot: _Overshoot | None = None
    loudness_error: float = 0.0
    true_peak_db: float = -math.inf
    gathered: _Overshoot | None = None  # the places over the fix limit lowered by ``reach_db``


def _judge(
    dst: Path,
    config: PipelineConfig,
    *,
    limited: bool,
    quick: bool,
    last: bool,
    passes: int,
    reach_db: float = 0.0,
) -> _Verdict:
    """Decode and measure the written file. ``quick``: first look only for overshoots (no fix
    made yet, more passes left); ``last``: keep the file whatever it measures. ``reach_db``:
    also gather the places up to this far under the fix limit (:func:`_lifted_overshoot`)."""
    # measured as it decodes (the file at 48 kHz is three times the working signal), the
    # places over the fix limit gathered on the way
    limit = _fix_limit(config)
    low = limit / 10.0 ** (reach_db / 20.0)
    longest = config.max_seconds + 60
    # hot speech often comes back from its first encode over the limit: then (``quick``) the
    # loudness is not needed, and its measurement stops where the first such peak is found
    out = measure_file(
        dst,
        max_seconds=longest,
        over=low if limited else None,
        enough_above=10.0 ** (_tp_max(config) / 20.0) if quick else None,
    )
    gathered = _Overshoot(out.over, out.peaks, out.sample_rate, low) if limited else None
    overshoot = (
        gathered.above_level(limit)
        if gathered is not None
        else _Overshoot(out.over, out.peaks, out.sample_rate, limit)
    )
    hot = overshoot.peaks.size and 20.0 * math.log10(float(overshoot.peaks.max())) > _tp_max(config)
    if quick and hot:
        return _Verdict(overshoot=overshoot)
    full = out.report or measure_file(dst, max_seconds=longest).report  # (a rounding's edge)
    assert full is not None
    tp = full.true_peak_dbtp if full.true_peak_dbtp is not None else -math.inf
    loud = full.integrated_lufs if full.integrated_lufs is not None else -math.inf
    loud_err = config.target_lufs - loud if config.normalize else 0.0
    over_limit = limited and tp > _tp_max(config)
    on_target = abs(loud_err) <= _LOUDNESS_TOLERANCE_LU
    if (not over_limit and on_target) or last:
        if over_limit or not on_target:
            log.warning("output still off target after %d encodes", passes)
        return _Verdict(keep=full)
    if over_limit:
        return _Verdict(overshoot=overshoot)
    return _Verdict(
        loudness_error=loud_err, true_peak_db=tp if limited else -math.inf, gathered=gathered
    )


@dataclass
class _Fixes:
    """The codec overshoots pulled down so far (``n`` samples at ``rate``); every later pass
    gets them all. ``latest``: the sample spans the newest fix changed."""

    n: int
    rate: int
    config: PipelineConfig
    needs: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    latest: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))

    def __bool__(self) -> bool:
        return bool(self.needs)

    def add(self, found: _Overshoot) -> None:
        """Pull down the overshoots near the ones over the limit (:func:`_near_violations`)."""
        release = self.config.limiter_release_db_per_s
        over, peaks = _near_violations(
            found.over, found.peaks, found.sample_rate, _tp_max(self.config)
        )
        need = _codec_overshoot_need(
            over, peaks, found.sample_rate, self.rate, n=self.n, limit=_fix_limit(self.config)
        )
        self.needs.append(need)
        curve, block = dynamics.reduce_gain_curve(
            self.n, self.rate, *need, release_db_per_s=release
        )
        self.latest = dynamics.curve_spans(curve, block, self.n)

    def apply(self, base: np.ndarray) -> np.ndarray:
        y = base
        for over, need in self.needs:
            y = dynamics.reduce_gain_at(
                y, self.rate, over, need, release_db_per_s=self.config.limiter_release_db_per_s
            )
        return y


class _PassWriter:
    """Writes each encode pass. Opus keeps its packets: a later pass whose signal changed only
    in places (codec overshoots pulled down) re-encodes just those places
    (:func:`audio.opus.reencode`)."""

    def __init__(self, dst: Path, rate: int, config: PipelineConfig, kind: str) -> None:
        self.dst, self.rate, self.config = dst, rate, config
        self.splice = kind == "ogg" and rate in opus.RATES
        self.stream: opus.OpusStream | None = None
        self.plain_encodes = 0
        self.opts = opus.options(
            complexity=config.opus_complexity,
            application=config.opus_application,
            frame_ms=config.opus_frame_ms,
            vbr=config.opus_vbr,
        )

    @property
    def gain_db(self) -> float:
        """The Opus header gain of the file written last."""
        return self.stream.gain_db if self.stream is not None else 0.0

    @property
    def whole_encodes(self) -> int:
        return self.stream.encodes if self.stream is not None else self.plain_encodes

    def set_gain(self, gain_db: float) -> None:
        """Give the Opus packets the header gain ``gain_db`` from the next write on."""
        assert self.stream is not None, "a header gain needs Opus packets written before"
        self.stream = replace(self.stream, gain_db=gain_db)

    def rewrite(self) -> None:
        """Write the last pass's packets again (with the header gain set since)."""
        assert self.stream is not None
        with replacing(self.dst) as tmp:
            opus.write(tmp, self.stream)

    def write(self, y: np.ndarray, changed: np.ndarray | None) -> None:
        """Write ``y``; ``changed``: the sample spans (:func:`dynamics.curve_spans`) in
        which it differs from the last pass's signal, or ``None`` if it may differ anywhere."""
        c = self.config
        if not self.splice:
            self.plain_encodes += 1
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
        if self.stream is None:
            self.stream = opus.encode(y, self.rate, bitrate=c.bitrate, opts=self.opts)
        elif changed is None:
            self.stream = opus.reencode(self.stream, y, np.array([[0, y.size]]))
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
