"""SMS text: which alphabet a text needs, how many parts it takes, and where it splits.

GSM 03.38 (3GPP TS 23.038 §6.2.1): the default 7-bit alphabet holds 160 characters in one SMS,
153 per part once a concatenation header (6 octets of UDH) is added; a character of the
extension table costs two septets (ESC + char) and is never split from its escape. Anything else
(Vietnamese letters with tones, "đ") forces UCS-2 for the whole message: 70 UTF-16 code units in
one SMS, 67 per part; a character beyond the BMP takes two units and is never split either.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["gsm7", "ucs2"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
SINGLE = {"gsm7": 160, "ucs2": 70}
PER_PART = {"gsm7": 153, "ucs2": 67}
WORD = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True)
class SmsPlan:
    encoding: Encoding
    parts: list[str]

    @property
    def units(self) -> int:
        """Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text."""
        return sum(weight(part, self.encoding) for part in self.parts)


def encoding_of(text: str) -> Encoding:
    return "gsm7" if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text) else "ucs2"


def char_weight(char: str, encoding: Encoding) -> int:
    if encoding == "gsm7":
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def weight(text: str, encoding: Encoding) -> int:
    return sum(char_weight(c, encoding) for c in text)


def unaccented(text: str) -> str:
    """Vietnamese without tones and marks ("Bão số 5, đề nghị" → "Bao so 5, de nghi"), so that
    it fits GSM-7's 160 characters."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def split(text: str) -> SmsPlan:
    """The parts an SMS of ``text`` is sent as, cut between words where a word fits a part.
    The parts joined give ``text`` back exactly."""
    encoding = encoding_of(text)
    if weight(text, encoding) <= SINGLE[encoding]:
        return SmsPlan(encoding, [text] if text else [])
    limit = PER_PART[encoding]
    parts: list[str] = []
    current = ""
    used = 0
    for token in WORD.findall(text):
        cost = weight(token, encoding)
        if used + cost <= limit:
            current, used = current + token, used + cost
            continue
        if current:
            parts.append(current)
            current, used = "", 0
        if cost <= limit:
            current, used = token, cost
            continue
        for char in token:  # a word longer than a part: cut it, never inside a character
            step = char_weight(char, encoding)
            if used + step > limit:
                parts.append(current)
                current, used = "", 0
            current, used = current + char, used + step
    if current:
        parts.append(current)
    return SmsPlan(encoding, parts)


def fit(text: str, max_parts: int, *, accents: bool = True, suffix: str = "") -> tuple[str, bool]:
    """``text`` + ``suffix`` (unaccented if ``accents`` is off) in at most ``max_parts``
    parts: the text is cut at a word and ends in an ellipsis if it must, the suffix (an
    unsubscribe line) is kept whole. Returns the message and whether the text was cut."""
    if not accents:
        text, suffix = unaccented(text), unaccented(suffix)
    if len(split(text + suffix).parts) <= max_parts:
        return text + suffix, False
    # "…" is not GSM-7: a text that fits GSM-7 ends in three dots so as to stay GSM-7
    dots = "..." if encoding_of(text + suffix) == "gsm7" else "…"
    words = WORD.findall(text)

    def cut(n: int) -> str:
        return "".join(words[:n]).rstrip() + dots + suffix

    low, high = 0, len(words) - 1  # cut(low) fits (or low is 0); cut(high + 1) is the whole text
    while low < high:
        middle = (low + high + 1) // 2
        if len(split(cut(middle)).parts) <= max_parts:
            low = middle
        else:
            high = middle - 1
    return cut(low), True
