"""The broadcast audio chain, from any recording to a clean, equally loud delivery file.

Steps, each its own function of mono float32 ``(n,)`` samples and each switchable in
:class:`PipelineConfig`:

1. decode (PyAV) → mono → measure → resample to the working rate, in one stream
   (:mod:`audio.decode_working`)
2. DC removal and rumble high-pass                       (:mod:`audio.filters`)
3. noise reduction                                       (:mod:`audio.denoise`)
4. trim of long leading/trailing silence                 (:mod:`audio.trim`)
5. slow leveller (AGC), then compressor                  (:mod:`audio.dynamics`)
6. gain to the target loudness with a look-ahead true-peak limiter; the gain is searched on
   a prediction of the limited loudness, the limiter runs once (:mod:`audio.normalize`)
7. encode (Opus/Ogg, WAV or MP3), then decode the written file and re-measure; if the codec
   moved the loudness or pushed the true peak over the limit, correct and encode again. Where
   only a few places were pulled down, Opus re-encodes just the windows around them
   (:mod:`audio.opus`); the file is always decoded and measured in full
   (:mod:`audio.checked_encode`).

Steps 2-6 as configured are :mod:`audio.chain`'s, their settings :mod:`audio.config`'s; the
report and its wording are :mod:`audio.report`'s. This module runs them in order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audio.analysis import describe
from audio.chain import (
    check_duration,
    deliverable,
    limiter_ceiling,
    prepare,
    sanitise,
    to_working_rate,
)
from audio.checked_encode import encode_checked
from audio.config import PipelineConfig, Progress, report_progress
from audio.decode import Decoded
from audio.decode_working import decode_working
from audio.encode import container_for
from audio.normalize import normalize
from audio.report import ProcessingReport, SignalReport, SourceReport, done_words, remarks
from audio.samples import check_rate

__all__ = ["PipelineConfig", "Progress", "normalize", "process", "process_file"]


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
    raw, nonfinite = sanitise(x)
    before = describe(raw, sr) if raw.size else None
    y = to_working_rate(raw, sr, config)
    rate = config.sample_rate
    y, steps, trimmed, done = prepare([y], rate, config, None, p0=0.0, p1=1.0)
    y, gain = deliverable(
        y,
        rate,
        config,
        target=config.target_lufs,
        ceiling=limiter_ceiling(config, True),
        gain=None,
        exact=True,
    )
    assert before is not None
    report = ProcessingReport(
        input=before,
        output=describe(y, rate),
        target_lufs=config.target_lufs,
        true_peak_limit_dbtp=config.true_peak_max_db,
        steps=steps + _gain_steps(config),
        done=done_words(done),
        trimmed_start_s=round(trimmed[0], 3),
        trimmed_end_s=round(trimmed[1], 3),
        gain_db=None if gain is None else round(gain, 2),
        warnings=[f"{nonfinite} NaN/inf samples were replaced by silence"] if nonfinite else [],
    )
    return y, rate, report


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
    report_progress(progress, 0.0)
    source, before, owned = _decode(src, config, progress)
    rate = config.sample_rate
    report_progress(progress, 0.2)
    pre, steps, trimmed, done = prepare(owned, rate, config, progress, p0=0.2, p1=0.6)
    encoded = encode_checked(pre, rate, dst, kind, config, progress=progress)
    report_progress(progress, 1.0)
    target = config.target_lufs if config.normalize else None
    return ProcessingReport(
        source=source,
        input=before,
        output=encoded.output,
        target_lufs=config.target_lufs,
        true_peak_limit_dbtp=config.true_peak_max_db,
        steps=[*steps, *_gain_steps(config), f"encode:{kind}"],
        done=done_words(done),
        trimmed_start_s=round(trimmed[0], 3),
        trimmed_end_s=round(trimmed[1], 3),
        gain_db=None if encoded.gain_db is None else round(encoded.gain_db, 2),
        output_file=dst.name,
        output_format=kind,
        output_bitrate=None if kind == "wav" else config.bitrate,
        encode_passes=encoded.passes,
        whole_encodes=encoded.whole_encodes,
        output_gain_db=encoded.header_gain_db,
        warnings=remarks(source, before, encoded.output, target),
    )


def _decode(
    src: Path, config: PipelineConfig, progress: Progress | None
) -> tuple[SourceReport, SignalReport, list[np.ndarray]]:
    """Step 1: what the decoder found, the input's measurements, and the input at the working
    rate as a one-element list for :func:`audio.chain.prepare` to empty. Decoded, measured and
    resampled in one stream (:mod:`audio.decode_working`): the input at its own rate is never
    whole in memory."""
    got = decode_working(src, rate=config.sample_rate, max_seconds=config.max_seconds)
    source = _source_report(src, got.decoded)
    report_progress(progress, 0.1)
    check_duration(got.source_samples, got.decoded.source_rate)
    return source, got.measured, [got.decoded.samples]


def _source_report(src: Path, dec: Decoded) -> SourceReport:
    return SourceReport(
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


def _gain_steps(config: PipelineConfig) -> list[str]:
    """The report's names of the gain stage's steps, as configured."""
    return [name for name, on in (("normalize", config.normalize), ("limit", config.limit)) if on]
