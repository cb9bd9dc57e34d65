"""Vietnamese text normalisation before synthesis: what the engine should say, in words.

Order matters and is fixed: abbreviations first (so "KT-XH" is not read as a range), then phone
numbers (digit by digit, before anything reads them as amounts), dates, times, units, ranges and
finally the remaining numbers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path

from controller.tts.abbreviations import compile_table, load_table
from controller.tts.numbers import decimal_words, digit_words, integer_words

# A number as written in Vietnamese: dots group thousands ("1.000.000"), a comma starts the
# decimals ("12,4"). A dot followed by one or two digits ("3.5", pasted from English sources)
# cannot be a thousands group, so it is read as a decimal point too.
_NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+\.\d{1,2}(?!\d)|\d+(?:,\d+)?"
_NUM_RE = re.compile(rf"(?<![\w,.])({_NUM})(?![\w])")

_UNITS: tuple[tuple[str, str], ...] = (
    ("km/h", "ki lô mét trên giờ"),
    ("m3/s", "mét khối trên giây"),
    ("m³/s", "mét khối trên giây"),
    ("mm/h", "mi li mét trên giờ"),
    ("km2", "ki lô mét vuông"),
    ("km²", "ki lô mét vuông"),
    ("m2", "mét vuông"),
    ("m²", "mét vuông"),
    ("m3", "mét khối"),
    ("m³", "mét khối"),
    ("km", "ki lô mét"),
    ("cm", "xen ti mét"),
    ("mm", "mi li mét"),
    ("m", "mét"),
    ("kg", "ki lô gam"),
    ("ha", "héc ta"),
    ("ml", "mi li lít"),
    ("°C", "độ xê"),
    ("ºC", "độ xê"),
    ("oC", "độ xê"),
    ("°", "độ"),
    ("%", "phần trăm"),
)
_UNIT_WORDS = dict(_UNITS)
# A unit counts only right after a number ("12,4 m", "50%", "23-28°C"), never inside a word.
_UNIT_RE = re.compile(r"(?<=\d)\s*(" + "|".join(re.escape(u) for u, _ in _UNITS) + r")(?![\w/²³])")

_PHONE_RE = re.compile(
    r"(?<![\w,.])(0\d{2,3}[ .]\d{3}[ .]\d{3,4}|0\d{9,10}|1[89]00[ .]?\d{4}|11[1-5])(?!\d|[,.]\d)"
)
_PHONE_CONTEXT = re.compile(r"(?:gọi|số|điện thoại|đường dây nóng|hotline)\s*:?\s*$", re.I)

_DATE_RE = re.compile(
    r"(?P<pre>\bngày\s+)?(?<![\w/])(?P<d>\d{1,2})(?P<sep>[/.-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})(?![\w/])",
    re.I,
)
_DAY_MONTH_RE = re.compile(r"\b(?P<pre>ngày\s+)(?P<d>\d{1,2})/(?P<m>\d{1,2})(?![\w/])", re.I)
_MONTH_YEAR_RE = re.compile(
    r"(?P<pre>\btháng\s+)?(?<![\w/])(?P<m>\d{1,2})/(?P<y>\d{4})(?![\w/])", re.I
)

_TIME = r"(?P<h{n}>\d{{1,2}})(?:[hg](?P<m{n}>\d{{2}})?(?:'|p|phút)?|:(?P<c{n}>\d{{2}}))"
_TIME_RE = re.compile(
    r"(?<![\w,.:])" + _TIME.format(n=1) + r"(?:\s*[-–]\s*" + _TIME.format(n=2) + r")?(?![\w:])"
)

_RANGE_RE = re.compile(rf"(?<![\w,.])({_NUM})\s*[-–]\s*({_NUM})(?![\w,.]\d|\w)")
_ORDINAL_RE = re.compile(r"\b(thứ|tháng)\s+(\d{1,2})\b", re.I)
_ALARM_RE = re.compile(r"(?<!\w)BĐ\s*(I{1,3}|[1-3])(?!\w)")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_WORD_HYPHEN = re.compile(r"(?<=[^\W\d])-(?=[^\W\d])")


def _number(text: str) -> str:
    """ "1.000.000" → "một triệu", "12,4" → "mười hai phẩy bốn"."""
    if re.fullmatch(r"\d+\.\d{1,2}", text):
        text = text.replace(".", ",")
    whole, _, fraction = text.partition(",")
    return decimal_words(whole.replace(".", ""), fraction or None)


def _month(m: int) -> str:
    return "tư" if m == 4 else integer_words(m)


def _valid_date(d: int, m: int) -> bool:
    return 1 <= d <= 31 and 1 <= m <= 12


def _date(match: re.Match[str]) -> str:
    d, m, y = int(match["d"]), int(match["m"]), int(match["y"])
    if not _valid_date(d, m):
        return match[0]
    # "ngày 20/11/2026": the text already says "ngày"; say it once.
    return f"ngày {integer_words(d)} tháng {_month(m)} năm {integer_words(y)}"


def _day_month(match: re.Match[str]) -> str:
    d, m = int(match["d"]), int(match["m"])
    if not _valid_date(d, m):
        return match[0]
    return f"ngày {integer_words(d)} tháng {_month(m)}"


def _month_year(match: re.Match[str]) -> str:
    m, y = int(match["m"]), int(match["y"])
    if not 1 <= m <= 12:
        return match[0]
    return f"tháng {_month(m)} năm {integer_words(y)}"


def _clock(hour: str, minute: str | None) -> str | None:
    h, mi = int(hour), int(minute or 0)
    if h > 24 or mi > 59:
        return None
    words = f"{integer_words(h)} giờ"
    return f"{words} {integer_words(mi)} phút" if mi else words


def _time(match: re.Match[str]) -> str:
    first = _clock(match["h1"], match["m1"] or match["c1"])
    if first is None:
        return match[0]
    if match["h2"] is None:
        return first
    second = _clock(match["h2"], match["m2"] or match["c2"])
    return match[0] if second is None else f"{first} đến {second}"


def _phone(text: str, match: re.Match[str]) -> str:
    raw = match[0]
    if len(re.sub(r"\D", "", raw)) <= 4 and not _PHONE_CONTEXT.search(text[: match.start()]):
        return raw  # "113" alone is a quantity; "gọi 113" is a number to dial
    groups = re.split(r"[ .]", raw)
    if len(groups) == 1 and len(raw) == 10:
        groups = [raw[:4], raw[4:7], raw[7:]]  # 0912345678 → 0912 345 678, as people say it
    # Commas make the engine pause between groups, as a person reading a number would.
    return ", ".join(digit_words(g) for g in groups if g)


def _ordinal(match: re.Match[str]) -> str:
    word, n = match[1], int(match[2])
    if word.lower() == "thứ" and n in (1, 4):
        return f"{word} {'nhất' if n == 1 else 'tư'}"
    if word.lower() == "tháng" and n == 4:
        return f"{word} tư"
    return match[0]


def _alarm(match: re.Match[str]) -> str:
    level = match[1]
    n = len(level) if level.startswith("I") else int(level)
    return f"báo động {integer_words(n)}"


def _sub(pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str], text: str) -> str:
    return pattern.sub(repl, text)


class Normalizer:
    """Turns written commune text into the words to speak. Build once; call many times."""

    def __init__(self, abbreviations: Mapping[str, str] | None = None) -> None:
        self._abbreviations = dict(abbreviations if abbreviations is not None else load_table())
        self._abbreviation_re = compile_table(self._abbreviations)

    @classmethod
    def from_file(cls, user_table: Path | None) -> Normalizer:
        return cls(load_table(user_table))

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        text = _SPACES.sub(" ", text).strip()
        text = _sub(_ALARM_RE, _alarm, text)
        text = self._abbreviation_re.sub(lambda m: self._abbreviations[m[0]], text)
        text = _PHONE_RE.sub(lambda m: _phone(text, m), text)
        text = _sub(_DATE_RE, _date, text)
        text = _sub(_DAY_MONTH_RE, _day_month, text)
        text = _sub(_MONTH_YEAR_RE, _month_year, text)
        text = _sub(_TIME_RE, _time, text)
        text = _UNIT_RE.sub(lambda m: " " + _UNIT_WORDS[m[1]], text)
        text = _sub(_ORDINAL_RE, _ordinal, text)
        text = _RANGE_RE.sub(lambda m: f"{_number(m[1])} đến {_number(m[2])}", text)
        text = _NUM_RE.sub(lambda m: _number(m[1]), text)
        # Whatever digits are left (codes like "A3.2.1") are still read, never skipped.
        text = _DIGITS.sub(lambda m: f" {integer_words(int(m[0]))} ", text)
        text = _WORD_HYPHEN.sub(" ", text)  # "nhân dân-hội đồng": a pause, not a minus
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
        return _SPACES.sub(" ", text).strip()


def normalize(text: str, *, abbreviations: Path | None = None) -> str:
    """Convenience: normalise with the shipped table plus an optional user table."""
    return Normalizer.from_file(abbreviations)(text)
