"""TTS settings: engine order, timeouts, cache, user abbreviations, optional Piper model.

The ``tts`` section of the controller's configuration (``controller.config``), loaded with the
rest of it: the file's ``"tts": {...}`` and the ``LOA_TTS_*`` variables named below. ``loa say``
loads this section alone with the same loader.
"""

from __future__ import annotations

import os
from dataclasses import field
from pathlib import Path

from pydantic import ConfigDict, Field, field_validator
from pydantic.dataclasses import dataclass

DEFAULT_ENGINES = ("gtts", "espeak")
KNOWN_ENGINES = ("gtts", "espeak", "piper")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "loalang" / "tts"


# A pydantic dataclass, not a model: validated like the rest of the configuration, and still a
# dataclass for dataclasses.replace().
@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class TtsSettings:
    """Everything synthesize() needs besides the text and the audio pipeline."""

    cache_dir: Path = field(default_factory=default_cache_dir)
    # The variables named with "env" predate the loader's naming (LOA_TTS_ + the field's name).
    engines: tuple[str, ...] = Field(
        default=DEFAULT_ENGINES, description='order to try, "gtts,espeak"'
    )
    # An online engine gets a few seconds at most: a bulletin must not wait on the internet.
    online_timeout_s: float = Field(
        default=3.0, gt=0, json_schema_extra={"env": "LOA_TTS_ONLINE_TIMEOUT"}
    )
    # Offline engines are local processes; long texts take a while on a small PC.
    offline_timeout_s: float = Field(default=120.0, gt=0)
    abbreviations_path: Path | None = Field(
        default=None, json_schema_extra={"env": "LOA_TTS_ABBREVIATIONS"}
    )
    piper_model: Path | None = None
    piper_binary: str = "piper"
    espeak_binary: str = "espeak-ng"
    gtts_tld: str = "com"
    gtts_base_url: str | None = Field(default=None, json_schema_extra={"env": "LOA_TTS_GTTS_URL"})

    @field_validator("engines", mode="before")
    @classmethod
    def _engines_from_text(cls, value: object) -> object:
        return parse_engines(value) if isinstance(value, str) else value

    @field_validator("engines")
    @classmethod
    def _known_engines(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(e.strip().lower() for e in value)
        unknown = [e for e in names if e not in KNOWN_ENGINES]
        if unknown or not names:
            raise ValueError(
                f"unknown TTS engine(s) {unknown or '(none given)'}: "
                f"choose from {', '.join(KNOWN_ENGINES)}"
            )
        return names


def parse_engines(text: str) -> tuple[str, ...]:
    """ "gtts, espeak" → ("gtts", "espeak")."""
    return tuple(p.strip().lower() for p in text.split(",") if p.strip())
