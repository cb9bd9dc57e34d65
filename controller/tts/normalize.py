"""Vietnamese text normalisation before synthesis: what the engine should say, in words.

The rules live in :mod:`controller.tts.reading`, one idea per module. They run in this order,
and the order matters (each step sees what the earlier ones left):

1. ``tidy``: NFC, emoji/ornaments/bullets/drawn rules removed, line breaks as pauses, spaces
   collapsed, "…" read ("vân vân" after a list, a pause elsewhere) (:mod:`.reading.symbols`).
2. web and e-mail addresses ("dichvucong.gov.vn" "... chấm gov chấm vn") (:mod:`.addresses`),
   then legal references, before anything reads "100/2019" as a date or a fraction
   (:mod:`.legal`).
3. phone numbers, before anything reads "0203.3812.456" as an amount or "0912-345-678" as a
   range (:mod:`.phones`).
4. Roman numerals after counting words ("cấp III"), and "BĐ2" (:mod:`.roman`).
5. dotted place names and roads ("TP.", "QL1A"), before the word table sees "TP" (:mod:`.places`).
6. the abbreviation table (UBND, HTX, CCCD, VNĐ, CN, v.v. ...) (:mod:`..abbreviations`).
7. money ("50.000đ", "500k") (:mod:`.money`).
8. dates with "mùng" for days 1–10 (:mod:`.dates`), then clock times and time ranges
   (:mod:`.times`), before ranges and fractions take their digits.
9. units after numbers ("12,4 m", "23-28°C") (:mod:`.units`), then "/người" as "một người"
   (:mod:`.money`), then number ranges ("từ A đến B") (:mod:`.ranges`), then what is left of
   "a/b" (a share where the words say so, else a date, else "a trên b") (:mod:`.fractions`).
10. symbols with meaning (±, ~, ≥, =, &, +, %) (:mod:`.symbols`), ordinals and weekdays
    ("thứ 2", "T7", "tháng 4") (:mod:`.ordinals`), and last every remaining number, with its
    minus sign (:mod:`.plain_numbers`).
11. a hyphen inside a word ("I-ốt") becomes a space, a spaced dash ("anh Hùng - 0912...") a
    pause; spaces before punctuation go.

Numbers follow the Northern standard ("nghìn", "linh"); ``dialect="south"`` (what the
``vi-vn-x-south`` voice gets) says "ngàn" and "lẻ".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path

from controller.tts.abbreviations import compile_table, load_table
from controller.tts.numbers import DIALECTS, Dialect
from controller.tts.numbers import dialect as numbers_dialect
from controller.tts.reading.addresses import read_addresses
from controller.tts.reading.common import after
from controller.tts.reading.dates import read_dates
from controller.tts.reading.fractions import read_fractions
from controller.tts.reading.legal import read_legal_references
from controller.tts.reading.money import read_money, read_per
from controller.tts.reading.ordinals import read_ordinals
from controller.tts.reading.phones import read_phone_numbers
from controller.tts.reading.places import read_places
from controller.tts.reading.plain_numbers import read_numbers
from controller.tts.reading.ranges import read_ranges
from controller.tts.reading.roman import read_roman_levels
from controller.tts.reading.symbols import read_ellipsis, read_symbols, strip_decorations
from controller.tts.reading.times import read_times
from controller.tts.reading.units import read_units

_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"\s*(?:$|[A-ZĐÀ-Ỹ])")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?)])")
_REPEATED_PUNCT = re.compile(r"([,.;:])(?:\s*[,.;:])+")
_OPEN_PAREN_SPACE = re.compile(r"\(\s+")
_WORD_HYPHEN = re.compile(r"(?<=[^\W\d])[-–—](?=[^\W\d])")
# " - " between words or numbers read out: a pause ("ông Hùng - 0912...", "A – B").
_SPACED_DASH = re.compile(r"(?<=\w)\s+[-–—]\s+(?=\w)")


def _tidy(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("−", "-")
    text = strip_decorations(text)
    text = _SPACES.sub(" ", text).strip()
    return read_ellipsis(text)


def _finish(text: str) -> str:
    text = _WORD_HYPHEN.sub(" ", text)  # "I-ốt", "KT-XH" leftovers: one word, not a minus
    text = _SPACED_DASH.sub(", ", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _OPEN_PAREN_SPACE.sub("(", text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    return text.strip(" ,;:")


class Normalizer:
    """Turns written commune text into the words to speak. Build once; call many times."""

    def __init__(
        self, abbreviations: Mapping[str, str] | None = None, *, dialect: Dialect = "north"
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}: choose from {', '.join(DIALECTS)}")
        self.dialect: Dialect = dialect
        self._abbreviations = dict(abbreviations if abbreviations is not None else load_table())
        self._abbreviation_re = compile_table(self._abbreviations)
        self._steps: tuple[Callable[[str], str], ...] = (
            _tidy,
            read_addresses,
            read_legal_references,
            read_phone_numbers,
            read_roman_levels,
            read_places,
            self._expand,
            read_money,
            read_dates,
            read_times,
            read_units,
            read_per,
            read_ranges,
            read_fractions,
            read_symbols,
            read_ordinals,
            read_numbers,
            _finish,
        )

    @classmethod
    def from_file(cls, user_table: Path | None, *, dialect: Dialect = "north") -> Normalizer:
        return cls(load_table(user_table), dialect=dialect)

    def _expand(self, text: str) -> str:
        return self._abbreviation_re.sub(self._expansion, text)

    def _expansion(self, match: re.Match[str]) -> str:
        words = self._abbreviations[match[0]]
        # "..., tiểu học, v.v." ends the sentence too: its dot is also the full stop. ("TM. UBND":
        # a capitalised title before a name, its dot is only the abbreviation's.)
        key = match[0]
        if key.endswith(".") and key[:1].islower() and _SENTENCE_END.match(after(match)):
            words += "."
        return words

    def __call__(self, text: str) -> str:
        with numbers_dialect(self.dialect):
            for step in self._steps:
                text = step(text)
        return text


def normalize(text: str, *, abbreviations: Path | None = None, dialect: Dialect = "north") -> str:
    """Convenience: normalise with the shipped table plus an optional user table."""
    return Normalizer.from_file(abbreviations, dialect=dialect)(text)


def dialect_of(voice: str) -> Dialect:
    """The number words that go with a voice: the Southern voice says "ngàn" and "lẻ"."""
    return "south" if voice.endswith("south") else "north"
