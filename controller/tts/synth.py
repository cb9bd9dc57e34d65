"""Text in, processed Ogg/Opus speech out: normalise, try engines in order, process, cache.

An engine that fails, is missing or is too slow is recorded with its reason and the next one is
tried. For an emergency the online engines are skipped without a single network call, and an
offline engine is always among those tried.
"""

from __future__ import annotations

import logging
import tempfile
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from audio.report import ProcessingReport
from controller.tts.cache import SpeechCache, cache_key
from controller.tts.engines import (
    VOICES,
    EspeakEngine,
    GttsEngine,
    PiperEngine,
    TtsEngine,
    TtsError,
)
from controller.tts.normalize import Normalizer, dialect_of
from controller.tts.numbers import Dialect
from controller.tts.settings import KNOWN_ENGINES, TtsSettings

if TYPE_CHECKING:  # audio/ is imported when speech is made, not when this module is
    from audio.pipeline import PipelineConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """One engine tried (or skipped): ``ok`` and, when not ok, why."""

    engine: str
    ok: bool
    reason: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class TtsResult:
    path: Path  # processed Ogg/Opus in the cache; copy it, do not move or edit it
    engine: str
    voice: str
    text: str  # what was spoken, after normalisation
    attempts: tuple[Attempt, ...]
    cache_hit: bool
    processing: ProcessingReport  # the audio pipeline's report


class NoEngineError(TtsError):
    """Every engine failed; ``attempts`` says why each one did."""

    def __init__(self, attempts: Sequence[Attempt]) -> None:
        self.attempts = tuple(attempts)
        why = "; ".join(f"{a.engine}: {a.reason}" for a in attempts) or "no engine given"
        super().__init__(f"no speech engine could read the text ({why})")


def synthesize(
    text: str,
    *,
    voice: str = "vi",
    engines: Sequence[str] | None = None,
    settings: TtsSettings,
    pipeline: PipelineConfig | None = None,
    emergency: bool = False,
    normalize: bool = True,
) -> TtsResult:
    """Speak ``text`` into a processed, cached Ogg/Opus file.

    ``engines`` overrides ``settings.engines`` (default gtts, then espeak); ``pipeline`` is the
    audio processing (default: the pipeline's own, without denoising). Raises ValueError for
    empty text, an unknown voice or engine, and NoEngineError when no engine could speak.
    """
    if not text or not text.strip():
        raise ValueError("the text is empty: there is nothing to say")
    if voice not in VOICES:
        raise ValueError(f"unknown voice {voice!r}: choose from {', '.join(VOICES)}")
    order = _engine_order(engines if engines is not None else settings.engines, emergency)
    spoken = spoken_text(settings, text, voice) if normalize else _tidy(text)

    from audio.pipeline import PipelineConfig, process_file

    # Engine output is clean synthetic speech: denoising it could only add artefacts.
    pipeline = pipeline if pipeline is not None else PipelineConfig(denoise=False)
    pipeline_id = _pipeline_id(pipeline)
    cache = SpeechCache(settings.cache_dir)
    attempts: list[Attempt] = []
    for engine in (_build(name, settings) for name in order):
        if emergency and engine.online:
            attempts.append(
                Attempt(engine.name, False, "skipped: emergency (offline engines only)")
            )
            continue
        key = cache_key(spoken, voice, engine.name, pipeline_id)
        cached = cache.get(key)
        processing = None if cached is None else _processing_of(cached.meta)
        if cached is not None and processing is not None:
            attempts.append(Attempt(engine.name, True, "cached"))
            return _result(
                cached.audio,
                engine=engine.name,
                voice=voice,
                spoken=spoken,
                attempts=attempts,
                hit=True,
                processing=processing,
            )
        missing = engine.unavailable()
        if missing:
            attempts.append(Attempt(engine.name, False, missing))
            continue
        timeout = settings.online_timeout_s if engine.online else settings.offline_timeout_s
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="loa-tts-") as tmp:
            try:
                raw = engine.synthesize(spoken, voice, Path(tmp) / "raw", timeout)
                processed = Path(tmp) / "speech.ogg"
                report = process_file(raw, processed, pipeline)
            except (TtsError, ValueError) as exc:  # audio errors are ValueErrors
                took = time.monotonic() - started
                log.warning("TTS engine %s failed after %.1f s: %s", engine.name, took, exc)
                attempts.append(Attempt(engine.name, False, str(exc), round(took, 3)))
                continue
            took = round(time.monotonic() - started, 3)
            meta = {
                "text": spoken,
                "voice": voice,
                "engine": engine.name,
                "pipeline": pipeline_id,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "processing": report.model_dump(mode="json"),
            }
            entry = cache.put(key, processed, meta)
        attempts.append(Attempt(engine.name, True, "", took))
        return _result(
            entry.audio,
            engine=engine.name,
            voice=voice,
            spoken=spoken,
            attempts=attempts,
            hit=False,
            processing=report,
        )
    raise NoEngineError(attempts)


def _engine_order(names: Sequence[str], emergency: bool) -> tuple[str, ...]:
    order = tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    unknown = [n for n in order if n not in KNOWN_ENGINES]
    if unknown or not order:
        raise ValueError(
            f"unknown TTS engine(s) {unknown or '(none given)'}: "
            f"choose from {', '.join(KNOWN_ENGINES)}"
        )
    if emergency and "espeak" not in order:
        order += ("espeak",)  # an emergency always has the offline engine to fall back on
    return order


def _build(name: str, settings: TtsSettings) -> TtsEngine:
    if name == "gtts":
        return GttsEngine(tld=settings.gtts_tld, base_url=settings.gtts_base_url)
    if name == "espeak":
        return EspeakEngine(binary=settings.espeak_binary)
    return PiperEngine(model=settings.piper_model, binary=settings.piper_binary)


def _result(
    path: Path,
    *,
    engine: str,
    voice: str,
    spoken: str,
    attempts: list[Attempt],
    hit: bool,
    processing: ProcessingReport,
) -> TtsResult:
    return TtsResult(
        path=path,
        engine=engine,
        voice=voice,
        text=spoken,
        attempts=tuple(attempts),
        cache_hit=hit,
        processing=processing,
    )


def _tidy(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def spoken_text(settings: TtsSettings, text: str, voice: str) -> str:
    """The words ``voice`` is given for ``text``: the commune's abbreviations and the voice's
    own number words ("ngàn"/"lẻ" in the South). The "Đọc là" preview shows exactly this."""
    return _normalizer(settings.abbreviations_path, voice)(text)


def _normalizer(user_table: Path | None, voice: str) -> Normalizer:
    # Keyed on the file's mtime too, so an edited user table takes effect without a restart.
    mtime = user_table.stat().st_mtime_ns if user_table is not None and user_table.exists() else 0
    return _cached_normalizer(user_table, mtime, dialect_of(voice))


@lru_cache(maxsize=8)
def _cached_normalizer(user_table: Path | None, mtime: int, dialect: Dialect) -> Normalizer:
    del mtime  # part of the cache key only
    return Normalizer.from_file(user_table, dialect=dialect)


def _pipeline_id(config: object) -> str:
    """Every pipeline setting (loudness target, codec, ...) as text, for the cache key."""
    dump = getattr(config, "model_dump_json", None)
    return str(dump()) if callable(dump) else repr(config)


def _processing_of(meta: dict[str, Any]) -> ProcessingReport | None:
    """The pipeline's report kept in a cache entry; ``None`` if it is missing or unreadable
    (an entry without it is spoken again)."""
    try:
        return ProcessingReport.model_validate(meta.get("processing"))
    except ValidationError:
        return None
