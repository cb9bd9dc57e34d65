"""What the controller keeps about a bulletin's audio: the pipeline's processing report and, for
text-to-speech, how the text was spoken. Passed typed from ingest to storage; :meth:`stored`
is its one JSON form, the bulletin's ``processing_report`` column (which the API shows)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from audio.report import ProcessingReport
from controller.tts.synth import Attempt, TtsResult


class SpeechReport(BaseModel):
    """How a text was spoken: the engine that did it and every engine tried."""

    model_config = ConfigDict(extra="forbid")

    engine: str
    voice: str
    text: str  # what was spoken, after normalisation
    cache_hit: bool
    attempts: list[Attempt]


class AudioReport(BaseModel):
    """The processing report of a bulletin's audio; ``tts`` only for speech."""

    model_config = ConfigDict(extra="forbid")

    processing: ProcessingReport
    tts: SpeechReport | None = None

    @classmethod
    def of_speech(cls, result: TtsResult) -> AudioReport:
        return cls(
            processing=result.processing,
            tts=SpeechReport(
                engine=result.engine,
                voice=result.voice,
                text=result.text,
                cache_hit=result.cache_hit,
                attempts=list(result.attempts),
            ),
        )

    @property
    def duration_s(self) -> float:
        """Length of the processed audio as delivered (s)."""
        return self.processing.output.duration_s

    def stored(self) -> dict[str, Any]:
        """The JSON kept with the bulletin: the pipeline's report, plus a ``tts`` section for
        speech (the shape the API and the monthly report have always read)."""
        data = self.processing.model_dump(mode="json")
        if self.tts is not None:
            data["tts"] = self.tts.model_dump(mode="json")
        return data
