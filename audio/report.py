"""The processing report: what came in, what went out, what was done, and what the user
should know about it (:func:`remarks`). Pydantic v2, JSON-safe; the measurements that fill it
are :func:`audio.analysis.describe`'s.

Levels that do not exist (the loudness of silence, the peak of nothing) are ``None``, never
``-inf``, so the report is valid JSON.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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


class Done(BaseModel):
    """One thing the denoiser did, in plain words for a broadcaster (Vietnamese and English)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        description="stable name: hum_50hz, hum_60hz, machine_<f0>hz, wind, noise, "
        "babble_gentle, "
        "left_speech_like, neural, neural_chose_standard, neural_missing, neural_slow"
    )
    vi: str
    en: str


# What each of :class:`audio.denoise_actions.DenoiseActions`'s codes means to a broadcaster.
_DONE_WORDS: dict[str, tuple[str, str]] = {
    "hum": ("Đã lọc tiếng ù điện ({hz} Hz).", "Mains hum ({hz} Hz) filtered out."),
    "machine": (
        "Đã lọc tiếng máy chạy đều ({hz} Hz: máy bơm, máy xay, máy phát điện).",
        "A steady machine's drone ({hz} Hz: pump, mill, generator) filtered out.",
    ),
    "wind": ("Đã giảm tiếng gió thổi vào micrô.", "Wind on the microphone turned down."),
    "noise": (
        "Đã giảm tiếng ồn nền (quạt, máy, xe cộ, mưa).",
        "Background noise reduced (fan, engine, traffic, rain).",
    ),
    "babble_gentle": (
        "Chỉ giảm nhẹ tiếng ồn: xung quanh có nhiều người nói chuyện (chợ, đám đông); lọc mạnh "
        "sẽ làm mất cả lời của bạn.",
        "Noise reduced gently: many people talk in the background (market, crowd); filtering "
        "harder would take your words too.",
    ),
    "neural": (
        "Đã lọc ồn bằng AI (DeepFilterNet3).",
        "Noise removed by the AI denoiser (DeepFilterNet3).",
    ),
    "neural_chose_standard": (
        "Tiếng ồn đều (quạt, máy, mưa, tiếng ù điện): cách lọc ồn thường làm tốt hơn AI nên đã "
        "dùng cách này.",
        "Steady noise (fan, engine, rain, mains hum): the standard denoiser does better than the "
        "AI here, so it was used.",
    ),
    "neural_missing": (
        "Lọc ồn AI chưa được cài trên máy chủ, nên đã dùng cách lọc ồn thường.",
        "The AI denoiser is not installed on the server, so the standard one was used.",
    ),
    "neural_slow": (
        "Lọc ồn AI quá chậm trên máy chủ này, nên đã dùng cách lọc ồn thường.",
        "The AI denoiser is too slow on this server, so the standard one was used.",
    ),
    "left_speech_like": (
        "Để nguyên: tiếng ồn giống giọng nói (ti vi, đài, người nói chuyện); lọc sẽ làm mất "
        "cả lời của bạn.",
        "Left as it is: the background sounds like speech (TV, radio, people talking); "
        "filtering it would take your words too.",
    ),
}


def done_words(codes: list[str]) -> list[Done]:
    """Plain words for the denoiser's codes; codes with nothing to say to a broadcaster (short
    sounds kept short) are left out."""
    out = []
    for code in codes:
        key, _, hz = code.partition("_") if code.endswith("hz") else (code, "", "")
        if key not in _DONE_WORDS:
            continue
        vi, en = _DONE_WORDS[key]
        hz = hz.removesuffix("hz")
        out.append(Done(code=code, vi=vi.format(hz=hz), en=en.format(hz=hz)))
    return out


class ProcessingReport(BaseModel):
    """Everything ``loa process`` and the controller record about one processed recording."""

    model_config = ConfigDict(extra="forbid")

    source: SourceReport | None = Field(default=None, description="None for in-memory input")
    input: SignalReport
    output: SignalReport = Field(description="measured on the decoded output file if written")
    target_lufs: float
    true_peak_limit_dbtp: float
    steps: list[str] = Field(description="processing steps applied, in order")
    done: list[Done] = Field(
        default_factory=list, description="what the denoiser did, in plain words"
    )
    trimmed_start_s: float
    trimmed_end_s: float
    gain_db: float | None = Field(description="overall gain applied by the loudness stage")
    output_file: str | None = None
    output_format: str | None = None
    output_bitrate: int | None = None
    encode_passes: int = Field(
        default=0,
        description="times the file was written, decoded and measured to meet the targets",
    )
    whole_encodes: int = Field(
        default=0,
        description="passes that encoded the whole signal (others re-encoded places, or only "
        "set the header gain)",
    )
    output_gain_db: float = Field(
        default=0.0, description="Ogg Opus header output gain (RFC 7845) that decoders apply"
    )
    warnings: list[str] = Field(default_factory=list, description="plain-English remarks")


def remarks(
    source: SourceReport,
    before: SignalReport,
    after: SignalReport,
    target_lufs: float | None = None,
) -> list[str]:
    """Plain-English remarks on what the user should know: losses, damage, a missed target."""
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
