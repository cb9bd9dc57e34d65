"""What several rules share: how a number is written, and how it is read."""

from __future__ import annotations

import re
from functools import lru_cache

from controller.tts.numbers import decimal_words, digit_words, integer_words

# A number as written in Vietnamese: dots group thousands ("1.000.000"), a comma starts the
# decimals ("12,4"). A dot followed by one or two digits ("3.5", pasted from English sources)
# cannot be a thousands group, so it is read as a decimal point too.
NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+\.\d{1,2}(?!\d)|\d+(?:,\d+)?"
# Not glued to a word, another number or a decimal separator before it.
BEFORE = r"(?<![\w,.])"
# Beyond "nghìn tỷ" nobody reads a number as an amount: an account or a code is read digit by
# digit (and Python refuses int() of more than 4,300 digits, so a pasted run must not reach it).
_LONGEST_AMOUNT = 15
# How far a rule looks around a match for its context ("gọi", "từ", "của ..."). Bounded, so each
# match costs the same however long the text: reading the whole prefix for every match made a
# 20,000-character bulletin of ranges take a minute (BENCHMARKS.md, deploy/SECURITY.md).
CONTEXT_CHARS = 80


def before(match: re.Match[str]) -> str:
    """The text just before ``match`` (at most :data:`CONTEXT_CHARS`)."""
    return match.string[max(0, match.start() - CONTEXT_CHARS) : match.start()]


def after(match: re.Match[str]) -> str:
    """The text just after ``match`` (at most :data:`CONTEXT_CHARS`)."""
    return match.string[match.end() : match.end() + CONTEXT_CHARS]


def cardinal(digits: str) -> str:
    """ "2026" → "hai nghìn không trăm hai mươi sáu"; a run of more than 15 digits one by one."""
    if len(digits) > _LONGEST_AMOUNT:
        return digit_words(digits)
    return integer_words(int(digits))


def number(text: str) -> str:
    """ "1.000.000" → "một triệu", "12,4" → "mười hai phẩy bốn", "3.5" → "ba phẩy năm"."""
    if re.fullmatch(r"\d+\.\d{1,2}", text):
        text = text.replace(".", ",")
    whole, _, fraction = text.partition(",")
    whole = whole.replace(".", "")
    if len(whole) > _LONGEST_AMOUNT:
        return cardinal(whole) + (f" phẩy {digit_words(fraction)}" if fraction else "")
    return decimal_words(whole, fraction or None)


def month(m: int) -> str:
    """ "tháng tư", never "tháng bốn"."""
    return "tư" if m == 4 else integer_words(m)


def ordinal(n: int) -> str:
    """After "thứ": 1 "nhất", 4 "tư" ("thứ nhất", "lần thứ tư"), otherwise the number."""
    return {1: "nhất", 4: "tư"}.get(n, integer_words(n))


# After these words a range is not introduced by "từ" ("trong ba đến năm ngày",
# "lúc năm giờ đến bảy giờ"), and after "từ" it is already there.
NO_FROM = ("từ", "trong", "lúc", "khoảng", "vào", "chừng", "tầm", "mất", "trong vòng")


def needs_from(preceding: str) -> bool:
    """Should a range starting after ``preceding`` be read "từ A đến B"?"""
    return not ends_with(preceding, *NO_FROM)


@lru_cache(maxsize=256)
def _ending(words: tuple[str, ...]) -> re.Pattern[str]:
    alternation = "|".join(r"\s+".join(re.escape(w) for w in phrase.split()) for phrase in words)
    return re.compile(rf"(?<!\w)(?:{alternation})\s*:?\s*$", re.I)


def ends_with(preceding: str, *words: str) -> bool:
    """Does the text just before a match end with one of ``words`` (any case and spacing, a
    colon allowed: "Số: 12/TB-UBND")?"""
    return _ending(words).search(preceding) is not None
