"""UI text in Vietnamese (default) and English, from the JSON catalogues in ``locale/``.

Each catalogue maps a key to ``{"vi": ..., "en": ...}``; keys are unique across catalogues so
that every page area can keep its own file.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(LOCALE_DIR.glob("*.json")):
        entries: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
        if clash := merged.keys() & entries.keys():
            raise ValueError(f"{path.name} repeats keys {sorted(clash)}")
        if missing := [k for k, v in entries.items() if set(v) != set(LANGUAGES)]:
            raise ValueError(f"{path.name}: keys without exactly vi and en: {missing}")
        merged.update(entries)
    return merged


def translate(key: str, lang: str, /, **values: object) -> str:
    """The text for ``key``; ``{name}`` placeholders are filled from ``values``."""
    try:
        text = catalogue()[key][lang if lang in LANGUAGES else DEFAULT_LANGUAGE]
    except KeyError:
        raise KeyError(f"no UI text {key!r}") from None
    return text.format(**values) if values else text
