"""Text-to-speech for the controller: text in, processed delivery audio and its report out."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import HTTPException

from controller.broadcast.audio_report import AudioReport
from controller.config import ControllerConfig


def speak(
    config: ControllerConfig, text: str, *, voice: str = "vi", emergency: bool = False
) -> tuple[Path, AudioReport]:
    """Synthesise ``text``; returns a temporary copy of the processed audio (the caller stores
    it) and a report. An emergency uses only offline engines. Bad input is an HTTP 422."""
    from audio.pipeline import PipelineConfig
    from controller.tts.engines import TtsError
    from controller.tts.synth import synthesize

    if not text.strip():
        raise HTTPException(422, "the text is empty")
    pipeline = PipelineConfig(denoise=False, target_lufs=config.target_lufs)
    try:
        result = synthesize(
            text, voice=voice, emergency=emergency, settings=config.tts, pipeline=pipeline
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    except TtsError as exc:  # every engine failed: a server-side condition, not bad input
        raise HTTPException(503, str(exc)) from None
    tmp_dir = config.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=".ogg", dir=tmp_dir)
    with open(fd, "wb") as out, result.path.open("rb") as src:
        shutil.copyfileobj(src, out)
    return Path(name), AudioReport.of_speech(result)
