"""Settings of the audio chain (:class:`PipelineConfig`) and its progress callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from audio import dynamics

Progress = Callable[[float], None]


# A bulletin needs at least this much sound: anything shorter is a slip of the finger on the
# record button, not a message (controller/broadcast/ingest.py asks for it on every upload).
MIN_SPEECH_S = 1.0


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
    min_speech_s: float = Field(
        default=0.0,
        ge=0,
        description="refuse input holding less sound than this (s), its silent ends not "
        "counted; 0 accepts any length",
    )
    highpass: bool = Field(default=True, description="remove DC and rumble below the cutoff")
    highpass_hz: float = Field(default=80.0, gt=0, description="high-pass cutoff (Hz)")
    denoise: bool = Field(default=True, description="noise reduction")
    denoise_method: Literal["standard", "neural"] = Field(
        default="standard",
        description="standard: audio.denoise (numpy/scipy); neural: DeepFilterNet3 with it "
        "(audio.neural_choice), falling back to standard when not installed or too slow",
    )
    neural_max_rtf: float = Field(
        default=1.0,
        gt=0,
        description="the neural denoiser runs only if it takes at most this many seconds per "
        "second of audio on this machine (measured once per process)",
    )
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
    # From 7 libopus analyses the signal and codes speech as speech; below it, at 32 kbit/s,
    # clean speech through the chain scored 3.2 PESQ-WB instead of 4.1 (BENCHMARKS.md). Its
    # SILK coding costs about ten times complexity 0's time per encode, so the chain encodes
    # clean speech once (the codec's loudness drift goes into the Opus header's gain).
    opus_complexity: int = Field(
        default=7,
        ge=0,
        le=10,
        description="libopus complexity; 7 and above analyse the signal (speech or music)",
    )
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


def report_progress(progress: Progress | None, value: float) -> None:
    """Tell ``progress`` (if any) how far the chain is, clamped to 0-1."""
    if progress is not None:
        progress(min(1.0, max(0.0, value)))
