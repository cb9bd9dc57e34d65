"""Text-to-speech for the controller: text in, processed delivery audio and its report out."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from controller.broadcast.audio_report import AudioReport
from controller.broadcast.ingest import pipeline_config
from controller.config import ControllerConfig
from controller.errors import InvalidInputError, UnavailableError


def speak(
    config: ControllerConfig, text: str, *, voice: str = "vi", emergency: bool = False
) -> tuple[Path, AudioReport]:
    """Synthesise ``text``; returns a temporary copy of the processed audio (the caller stores
    it) and a report. An emergency uses only offline engines. Bad input is an InvalidInputError."""
    from controller.tts.engines import TtsError
    from controller.tts.synth import synthesize

    if not text.strip():
        raise InvalidInputError(
            "speech.empty", "the text is empty", "Chưa có nội dung để đọc", field="text"
        )
    pipeline = pipeline_config(config, denoise=False)
    try:
        result = synthesize(
            text, voice=voice, emergency=emergency, settings=config.tts, pipeline=pipeline
        )
    except ValueError as exc:
        raise InvalidInputError(
            "speech.unusable", str(exc), f"Máy không đọc được nội dung này ({exc})", field="text"
        ) from None
    except TtsError as exc:  # every engine failed: a server-side condition, not bad input
        raise UnavailableError(
            "speech.unavailable", str(exc), f"Không máy đọc nào hoạt động ({exc})", field="text"
        ) from None
    tmp_dir = config.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=".ogg", dir=tmp_dir)
    with open(fd, "wb") as out, result.path.open("rb") as src:
        shutil.copyfileobj(src, out)
    return Path(name), AudioReport.of_speech(result)
