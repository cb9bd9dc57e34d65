"""Place and road abbreviations that carry a dot or a number, so a word table cannot hold them.

"TP. Hạ Long" → "thành phố Hạ Long" (the dot is not a full stop); "P. 5", "Q. Ba Đình",
"TX. Quảng Yên", "H. Tiên Yên", "TT. Cái Rồng". Roads: "QL1A" / "QL 18" → "quốc lộ một A",
"ĐT.341" → "đường tỉnh ba trăm bốn mươi mốt", "TL", "ĐH" likewise. A one-letter abbreviation
counts only before a capitalised name or a number, so a sentence ending in "P." is left alone.
Road chainage: "Km 5" → "ki lô mét số năm", "Km15+200" → "ki lô mét số mười lăm cộng hai trăm".
"""

from __future__ import annotations

import re

from controller.tts.numbers import integer_words
from controller.tts.reading.common import before

_PLACES = {
    "TP": "thành phố",
    "TX": "thị xã",
    "TT": "thị trấn",
    "P": "phường",
    "Q": "quận",
    "H": "huyện",
    "X": "xã",
}
_UPPER = "A-ZĐÀ-ỸÂĂÊÔƠƯ"
_PLACE = re.compile(rf"(?<![\w.])({'|'.join(_PLACES)})\.\s*(?=[{_UPPER}\d])")
_ROADS = {"QL": "quốc lộ", "TL": "tỉnh lộ", "ĐT": "đường tỉnh", "ĐH": "đường huyện"}
_ROAD = re.compile(rf"(?<!\w)({'|'.join(_ROADS)})\.?\s?(\d{{1,3}})([A-Z]?)(?!\w)")


# Road chainage: "Km 5", "Km15+200" → "ki lô mét số năm", "... cộng hai trăm".
_CHAINAGE = re.compile(r"(?<!\w)Km\s?(\d{1,4})(?:\s?\+\s?(\d{1,3}))?(?!\w)")


def _road(match: re.Match[str]) -> str:
    suffix = f" {match[3]}" if match[3] else ""
    words = _ROADS[match[1]]
    if words.startswith("đường ") and re.search(r"(?<!\w)đường\s*$", before(match)):
        words = words.removeprefix("đường ")  # "đường ĐT.341": "đường" is already said
    return f"{words} {integer_words(int(match[2]))}{suffix}"


def _chainage(match: re.Match[str]) -> str:
    plus = f" cộng {integer_words(int(match[2]))}" if match[2] else ""
    return f"ki lô mét số {integer_words(int(match[1]))}{plus}"


def read_places(text: str) -> str:
    """Dotted place abbreviations and road numbers."""
    text = _PLACE.sub(lambda m: _PLACES[m[1]] + " ", text)
    text = _CHAINAGE.sub(_chainage, text)
    return _ROAD.sub(_road, text)
