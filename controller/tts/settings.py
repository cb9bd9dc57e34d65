"""TTS settings: engine order, timeouts, cache, user abbreviations, optional Piper model."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_ENGINES = ("gtts", "espeak")
KNOWN_ENGINES = ("gtts", "espeak", "piper")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "loalang" / "tts"


@dataclass(frozen=True)
class TtsSettings:
    """Everything synthesize() needs besides the text. ``from_env`` reads ``LOA_TTS_*``."""

    cache_dir: Path = field(default_factory=default_cache_dir)
    engines: tuple[str, ...] = DEFAULT_ENGINES
    # An online engine gets a few seconds at most: a bulletin must not wait on the internet.
    online_timeout_s: float = 3.0
    # Offline engines are local processes; long texts take a while on a small PC.
    offline_timeout_s: float = 120.0
    abbreviations_path: Path | None = None
    piper_model: Path | None = None
    piper_binary: str = "piper"
    espeak_binary: str = "espeak-ng"
    gtts_tld: str = "com"
    gtts_base_url: str | None = None
    # audio.pipeline.PipelineConfig, or None for its defaults (typed loosely: audio/ is optional
    # at import time and this module must stay importable without it).
    pipeline: Any = None

    def __post_init__(self) -> None:
        unknown = [e for e in self.engines if e not in KNOWN_ENGINES]
        if unknown or not self.engines:
            raise ValueError(
                f"unknown TTS engine(s) {unknown or '(none given)'}: "
                f"choose from {', '.join(KNOWN_ENGINES)}"
            )
        if self.online_timeout_s <= 0 or self.offline_timeout_s <= 0:
            raise ValueError("TTS timeouts must be positive")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> TtsSettings:
        """LOA_TTS_CACHE_DIR, LOA_TTS_ENGINES ("gtts,espeak"), LOA_TTS_ONLINE_TIMEOUT,
        LOA_TTS_ABBREVIATIONS, LOA_TTS_PIPER_MODEL, LOA_TTS_GTTS_URL; keyword overrides win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if env.get("LOA_TTS_CACHE_DIR"):
            values["cache_dir"] = Path(env["LOA_TTS_CACHE_DIR"])
        if env.get("LOA_TTS_ENGINES"):
            values["engines"] = parse_engines(env["LOA_TTS_ENGINES"])
        if env.get("LOA_TTS_ONLINE_TIMEOUT"):
            values["online_timeout_s"] = float(env["LOA_TTS_ONLINE_TIMEOUT"])
        if env.get("LOA_TTS_ABBREVIATIONS"):
            values["abbreviations_path"] = Path(env["LOA_TTS_ABBREVIATIONS"])
        if env.get("LOA_TTS_PIPER_MODEL"):
            values["piper_model"] = Path(env["LOA_TTS_PIPER_MODEL"])
        if env.get("LOA_TTS_GTTS_URL"):
            values["gtts_base_url"] = env["LOA_TTS_GTTS_URL"]
        values.update(overrides)
        return cls(**values)


def parse_engines(text: str) -> tuple[str, ...]:
    """ "gtts, espeak" → ("gtts", "espeak")."""
    return tuple(p.strip().lower() for p in text.split(",") if p.strip())
