"""Text-to-speech for the controller: Vietnamese normalisation, engines with fallback, cache.

``synthesize(text, ...)`` is the entry point; ``loa say`` is :mod:`controller.tts.cli`.
"""

from controller.tts.engines import (
    VOICES,
    EspeakEngine,
    GttsEngine,
    PiperEngine,
    TtsEngine,
    TtsError,
)
from controller.tts.normalize import Normalizer, normalize
from controller.tts.settings import TtsSettings
from controller.tts.synth import Attempt, NoEngineError, TtsResult, spoken_text, synthesize

__all__ = [
    "VOICES",
    "Attempt",
    "EspeakEngine",
    "GttsEngine",
    "NoEngineError",
    "Normalizer",
    "PiperEngine",
    "TtsEngine",
    "TtsError",
    "TtsResult",
    "TtsSettings",
    "normalize",
    "spoken_text",
    "synthesize",
]
