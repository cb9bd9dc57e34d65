"""Turns an uploaded recording into stored, processed delivery audio (once per sha256)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from controller.broadcast.audio_report import AudioReport
from controller.config import ControllerConfig, DenoiseChoice
from controller.models import AudioFile

if TYPE_CHECKING:
    from audio.pipeline import PipelineConfig


def pipeline_config(
    config: ControllerConfig, *, denoise: bool = True, method: DenoiseChoice | None = None
) -> PipelineConfig:
    """The audio chain as this controller runs it, on every path that decodes (uploads, drafts,
    alerts, speech): its loudness target, its longest accepted recording and its denoiser
    (``method``, one bulletin's choice, or the controller's ``denoise`` setting)."""
    from audio.pipeline import PipelineConfig

    return PipelineConfig(
        target_lufs=config.target_lufs,
        max_seconds=config.max_audio_seconds,
        denoise=denoise,
        denoise_method=method or config.denoise,
        neural_max_rtf=config.neural_max_rtf,
        opus_complexity=config.opus_complexity,
    )


def process_upload(
    config: ControllerConfig, src: Path, denoise: DenoiseChoice | None = None
) -> tuple[Path, AudioReport]:
    """Run the audio pipeline on ``src`` with the ``denoise`` chosen (None: the controller's);
    returns the encoded Ogg/Opus file and its report.

    Raises ``audio.errors.AudioError`` (with a message for the user) for unusable input.
    """
    from audio.config import MIN_SPEECH_S
    from audio.pipeline import process_file

    out_dir = config.data_dir / "tmp"
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=".ogg", dir=out_dir)
    os.close(fd)
    dst = Path(name)
    try:
        # a recording, unlike a text read aloud, must hold a message's worth of sound
        checked = pipeline_config(config, method=denoise)
        checked = checked.model_copy(update={"min_speech_s": MIN_SPEECH_S})
        report = process_file(src, dst, checked)
    except BaseException:
        dst.unlink(missing_ok=True)
        raise
    return dst, AudioReport(processing=report)


def store_audio(
    config: ControllerConfig, db: Session, encoded: Path, duration_s: float
) -> AudioFile:
    """Move ``encoded`` into the content-addressed store unless the same bytes are there."""
    with encoded.open("rb") as fh:  # read in pieces, not whole
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    config.audio_dir.mkdir(parents=True, exist_ok=True)
    final = config.audio_dir / f"{digest}.ogg"
    if final.exists():
        encoded.unlink()
    else:
        encoded.replace(final)
    row = db.get(AudioFile, digest)
    if row is None:
        row = AudioFile(
            sha256=digest, size=final.stat().st_size, duration_s=duration_s, mime="audio/ogg"
        )
        db.add(row)
        db.flush()
    return row
