"""What several rules share: how a number is written, and how it is read."""

from __future__ import annotations

import re

from controller.tts.numbers import decimal_words, integer_words

# A number as written in Vietnamese: dots group thousands ("1.000.000"), a comma starts the
# decimals ("12,4"). A dot followed by one or two digits ("3.5", pasted from English sources)
# cannot be a thousands group, so it is read as a decimal point too.
NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+\.\d{1,2}(?!\d)|\d+(?:,\d+)?"
# Not glued to a word, another number or a decimal separator on either side.
BEFORE = r"(?<![\w,.])"
AFTER = r"(?![\w]|[,.]\d)"


def number(text: str) -> str:
    """ "1.000.000" → "một triệu", "12,4" → "mười hai phẩy bốn", "3.5" → "ba phẩy năm"."""
    if re.fullmatch(r"\d+\.\d{1,2}", text):
        text = text.replace(".", ",")
    whole, _, fraction = text.partition(",")
    return decimal_words(whole.replace(".", ""), fraction or None)


def month(m: int) -> str:
    """ "tháng tư", never "tháng bốn"."""
    return "tư" if m == 4 else integer_words(m)


def ordinal(n: int) -> str:
    """After "thứ": 1 "nhất", 4 "tư" ("thứ nhất", "lần thứ tư"), otherwise the number."""
    return {1: "nhất", 4: "tư"}.get(n, integer_words(n))


# After these words a range is not introduced by "từ" ("trong ba đến năm ngày",
# "lúc năm giờ đến bảy giờ"), and after "từ" it is already there.
NO_FROM = ("từ", "trong", "lúc", "khoảng", "vào", "chừng", "tầm", "mất", "trong vòng")


def needs_from(before: str) -> bool:
    """Should a range starting here be read "từ A đến B"?"""
    return not any(ends_with(before, word) for word in NO_FROM)


def ends_with(before: str, words: str) -> bool:
    """Does the text just before a match end with ``words`` (case-insensitive, any spacing)?"""
    pattern = r"\s+".join(re.escape(w) for w in words.split())
    return re.search(rf"(?<!\w){pattern}\s*$", before, re.I) is not None
