"""Money: amounts with their currency, and "/" read as "một" or "mỗi".

"50.000đ", "50.000 đ", "2.500.000 đồng", "50.000 VNĐ" (VNĐ/VND are "đồng" by the abbreviation
table), "₫" → "... đồng"; "500k" → "năm trăm nghìn đồng"; "3tr" → "ba triệu đồng"; "1,2 tỷ
đồng" → "một phẩy hai tỷ đồng"; "$100", "100 USD" → "một trăm đô la Mỹ". After an amount or
a unit, "/người", "/tháng", "/kg" are read "một người", "một tháng", "một ki lô gam"; a second
slash says "mỗi":
"50.000đ/người/tháng" → "năm mươi nghìn đồng một người mỗi tháng". A slash between two plain
words ("ông/bà") is a pause.
"""

from __future__ import annotations

import re

from controller.tts.reading.common import BEFORE, NUM, number
from controller.tts.reading.units import UNITS, unit_words

_AMOUNT = re.compile(
    rf"{BEFORE}(?P<n>{NUM})\s*(?:(?P<scale>nghìn|ngàn|triệu|tỷ)\s*)?(?P<cur>đồng|đ|₫)(?!\w)"
)
_DOLLARS = re.compile(rf"(?:\$\s?(?P<a>{NUM})|{BEFORE}(?P<b>{NUM})\s*(?:USD|usd|\$))(?!\w)")
_SHORT = re.compile(rf"{BEFORE}(?P<n>{NUM})\s?(?P<short>k|K|tr)(?!\w)")
_SHORT_WORDS = {"k": "nghìn", "K": "nghìn", "tr": "triệu"}
_PER_NOUNS = (
    "người|hộ|khẩu|nhân khẩu|suất|lượt|lần|tháng|ngày|năm|tuần|giờ|buổi|ca|học kỳ|quý|con|chiếc|"
    "cái|bao|xe|cây|thửa|sào|mẫu|tấn|lít|tạ|yến|gói|liều|học sinh|em|phòng|lớp|đợt|"
    + "|".join(sorted((re.escape(u) for u, _ in UNITS if u.isalnum()), key=len, reverse=True))
)
_PER = re.compile(rf"(?<=[^\W\d_])(?:\s*/\s*(?:{_PER_NOUNS})(?!\w))+")
_PER_NOUN = re.compile(rf"/\s*({_PER_NOUNS})(?!\w)")
_WORD_SLASH = re.compile(r"(?<=[^\W\d_])\s*/\s*(?=[^\W\d_])")


def _amount(match: re.Match[str]) -> str:
    scale = f" {match['scale']}" if match["scale"] else ""
    return f"{number(match['n'])}{scale} đồng"


def _per(match: re.Match[str]) -> str:
    # A chain ("đồng/người/tháng") says "một" once, then "mỗi".
    nouns = _PER_NOUN.findall(match[0])
    words = [f"{'mỗi' if i else 'một'} {unit_words(n)}" for i, n in enumerate(nouns)]
    return " " + " ".join(words)


def read_money(text: str) -> str:
    """Amounts with a currency sign or the k/tr shorthand, in words with "đồng"."""
    text = _AMOUNT.sub(_amount, text)
    text = _DOLLARS.sub(lambda m: f"{number(m['a'] or m['b'])} đô la Mỹ", text)
    return _SHORT.sub(lambda m: f"{number(m['n'])} {_SHORT_WORDS[m['short']]} đồng", text)


def read_per(text: str) -> str:
    """ "/người" after a word → "một người" (then "mỗi"); any other word/word slash → a space."""
    text = _PER.sub(_per, text)
    return _WORD_SLASH.sub(" ", text)
