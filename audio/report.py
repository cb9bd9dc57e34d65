"""The processing report: what came in, what went out, what was done. Pydantic v2, JSON-safe.

Levels that do not exist (the loudness of silence, the peak of nothing) are ``None``, never
``-inf``, so the report is valid JSON.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from audio.analysis import clipped_share, estimate_noise
from audio.loudness import measure


def finite_or_none(value: float, digits: int = 2) -> float | None:
    """``round(value, digits)``, or ``None`` for NaN/±inf."""
    return round(float(value), digits) if math.isfinite(value) else None


class SignalReport(BaseModel):
    """Measurements of one signal (input or output)."""

    model_config = ConfigDict(extra="forbid")

    duration_s: float = Field(description="length in seconds")
    sample_rate: int = Field(description="sample rate in Hz")
    integrated_lufs: float | None = Field(description="integrated loudness, BS.1770-4 (LUFS)")
    loudness_range_lu: float = Field(description="loudness range, EBU Tech 3342 (LU)")
    true_peak_dbtp: float | None = Field(description="true peak, 4x+ oversampled (dBTP)")
    momentary_max_lufs: float | None = Field(description="largest 400 ms loudness (LUFS)")
    short_term_max_lufs: float | None = Field(description="largest 3 s loudness (LUFS)")
    noise_floor_dbfs: float = Field(description="background level, 10th pct of 20 ms frames")
    snr_db: float = Field(description="speech level (95th pct) minus noise floor (dB)")
    clipped_share: float = Field(description="share of samples on clipped flat tops (0-1)")


def describe(x: np.ndarray, sr: int) -> SignalReport:
    """Measure mono ``x`` for the report."""
    stats = measure(x, sr)
    noise = estimate_noise(x, sr)
    return SignalReport(
        duration_s=round(x.size / sr, 3),
        sample_rate=sr,
        integrated_lufs=finite_or_none(stats.integrated),
        loudness_range_lu=round(stats.loudness_range, 2),
        true_peak_dbtp=finite_or_none(stats.true_peak_db),
        momentary_max_lufs=finite_or_none(stats.momentary_max),
        short_term_max_lufs=finite_or_none(stats.short_term_max),
        noise_floor_dbfs=noise.noise_floor_dbfs,
        snr_db=noise.snr_db,
        clipped_share=round(clipped_share(x), 5),
    )


class SourceReport(BaseModel):
    """What the decoder found in the uploaded file."""

    model_config = ConfigDict(extra="forbid")

    file_name: str
    container: str
    codec: str
    channels: int
    sample_rate: int
    total_packets: int
    skipped_packets: int = Field(description="packets the decoder rejected and skipped")
    skipped_share: float = Field(description="skipped / total packets (0-1)")
    nonfinite_samples: int = Field(description="NaN/inf samples replaced by silence")
    dropped_channels: list[int] = Field(description="dead channels left out of the mono mix")


class ProcessingReport(BaseModel):
    """Everything ``loa process`` and the controller record about one processed recording."""

    model_config = ConfigDict(extra="forbid")

    source: SourceReport | None = Field(default=None, description="None for in-memory input")
    input: SignalReport
    output: SignalReport = Field(description="measured on the decoded output file if written")
    target_lufs: float
    true_peak_limit_dbtp: float
    steps: list[str] = Field(description="processing steps applied, in order")
    trimmed_start_s: float
    trimmed_end_s: float
    gain_db: float | None = Field(description="overall gain applied by the loudness stage")
    output_file: str | None = None
    output_format: str | None = None
    output_bitrate: int | None = None
    encode_passes: int = Field(default=0, description="encodes needed to meet the targets")
    warnings: list[str] = Field(default_factory=list, description="plain-English remarks")
