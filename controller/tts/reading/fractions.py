"""What is left of "a/b" after legal references and dates: a date, a fraction, or "a trên b".

In commune notices "a/b" is far more often a day and month than a fraction, so it is a date
("Tết Thiếu nhi 1/6" → "Tết Thiếu nhi mùng một tháng sáu", "từ 25/12 đến 2/1", "hạn chót
15/3"; no "ngày" is added, as people say it) unless the words around it say it
is a share: a proper fraction with a denominator up to 10 after "chiếm", "khoảng", "được"...
or before "số", "diện tích", a unit ("1/2 sào", "3/4 diện tích", "tại 1/3 số thôn") is read
"một phần hai", "ba phần tư". What can be neither ("24/7", "100/120") is "a trên b".
"""

from __future__ import annotations

import re

from controller.tts.numbers import integer_words
from controller.tts.reading.common import after, before
from controller.tts.reading.dates import day_month, valid

_SLASH = re.compile(r"(?<![\w/.,])(\d{1,3})/(\d{1,3})(?![\w/]|[.,]\d)")
_SHARE_BEFORE = re.compile(
    r"(?<!\w)(?:chiếm|khoảng|gần|hơn|còn|bằng|được|giao|tại|giảm|tăng|mất|tỷ lệ|thêm|trên|dưới"
    r"|đạt|cả)\s*$",
    re.I,
)
_SHARE_AFTER = re.compile(
    r"\s*(?:số|diện tích|dân số|tổng|lượng|giá|mức|thời gian|quãng|phần|sào|mẫu|héc ta|mét|ki lô"
    r"|lít|tấn|suất|khẩu|quân số|kinh phí|học sinh|hộ|người|dân)(?!\w)",
    re.I,
)
# Round-the-clock service, said as written.
_ALWAYS = {(24, 7), (24, 24)}


def _denominator(b: int) -> str:
    return "tư" if b == 4 else integer_words(b)


def _share(match: re.Match[str]) -> bool:
    return bool(_SHARE_BEFORE.search(before(match)) or _SHARE_AFTER.match(after(match)))


def _slash(match: re.Match[str]) -> str:
    a, b = int(match[1]), int(match[2])
    if 0 < a < b <= 10 and _share(match):
        return f"{integer_words(a)} phần {_denominator(b)}"
    if valid(a, b) and (a, b) not in _ALWAYS:
        return day_month(a, b, bare=True)
    return f"{integer_words(a)} trên {integer_words(b)}"


def read_fractions(text: str) -> str:
    """Every remaining "a/b" of plain numbers, in words."""
    return _SLASH.sub(_slash, text)
