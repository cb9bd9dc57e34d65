"""How a text-to-speech bulletin is read ("Đọc là: …"): the text as typed beside the words the
engine says, so an approver hears nothing they have not read and a broadcaster sees a wrongly
read number before it airs."""

from __future__ import annotations

from dataclasses import dataclass

from controller.models import Bulletin
from controller.tts import VOICES, TtsSettings, spoken_text

# A preview is asked for while typing: the normaliser is cheap, but not for a book.
MAX_PREVIEW_CHARS = 20_000


@dataclass(frozen=True)
class Reading:
    written: str  # as typed (``Bulletin.text``); "" for one made before the text was kept
    spoken: str  # the words the engine was given


def read_as(settings: TtsSettings, text: str, voice: str = "vi") -> str:
    """The spoken form of ``text`` as ``voice`` will say it: the same normaliser, abbreviations
    and dialect's number words that speech uses. An unknown voice is a ValueError."""
    if voice not in VOICES:
        raise ValueError(f"unknown voice {voice!r}: choose from {', '.join(VOICES)}")
    return spoken_text(settings, text, voice) if text.strip() else ""


def reading_of(bulletin: Bulletin) -> Reading | None:
    """What the bulletin's audio says, as it was spoken when it was made (the audio does not
    change when the normaliser does); None for a recording."""
    tts = (bulletin.processing_report or {}).get("tts")
    if not isinstance(tts, dict) or not tts.get("text"):
        return None
    return Reading(written=bulletin.text or "", spoken=str(tts["text"]))
