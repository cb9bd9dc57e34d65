"""Telephone numbers, read digit by digit in the groups people say.

A number of 10–11 digits that starts with 0 ("0912 345 678", "0203.3812.456", "(0203) 3812456",
"0912-345-678", "0912345678"), or a 1800/1900 service number, is a phone number whatever its
separators; the groups are the written ones, a long run split 4-3-3 (mobile) or 4-4-3 (landline
with its area code), as it is said. The three-digit emergency numbers (111–115) are dialled only
where the text says so ("gọi 114", "đường dây nóng: 113"); elsewhere "113 hộ" is a quantity.
Groups are separated by commas so the engine pauses as a reader would.
"""

from __future__ import annotations

import re

from controller.tts.numbers import digit_words, integer_words
from controller.tts.reading.common import before

_SEP = r"[ .\-]?"
_LONG = re.compile(
    rf"(?<![\w,.])(?:\(0\d{{2,3}}\)\s?|0\d{{1,3}}{_SEP})\d{{2,4}}(?:{_SEP}\d{{2,4}}){{0,3}}(?![\w]|[,.]\d)"
)
_SERVICE = re.compile(r"(?<![\w,.])1[89]00[ .]?\d{4}(?:\d{2})?(?![\w]|[,.]\d)")
_EMERGENCY = re.compile(r"(?<![\w,.])11[1-5](?![\w]|[,.]\d)")
_DIAL_CONTEXT = re.compile(
    r"(?:gọi|điện thoại|ĐT|SĐT|đường dây nóng|hotline|tổng đài|liên hệ|liên lạc|cấp cứu|cứu hỏa"
    r"|cứu hộ|cứu nạn|báo cháy|báo ngay)(?:\s+(?:ngay|số|cho|đến|tới|khẩn cấp))*\s*:?\s*"
    # a list of them: "gọi 113, 114 hoặc 115"
    r"(?:11[1-5]\s*(?:,|hoặc|và|/|-)\s*)*$",
    re.I,
)


def _split(run: str) -> list[str]:
    """Unseparated digits in the groups people say them."""
    if len(run) <= 4:
        return [run]
    sizes = {5: (2, 3), 6: (3, 3), 7: (4, 3), 8: (4, 4), 9: (3, 3, 3), 10: (4, 3, 3)}
    groups: list[str] = []
    for size in sizes.get(len(run), (4, 4, 3)):
        groups.append(run[:size])
        run = run[size:]
    return [*groups, *_split(run)] if run else groups


def _say(raw: str) -> str:
    groups = [g for g in re.split(r"[^\d]+", raw) if g]
    return ", ".join(digit_words(part) for g in groups for part in _split(g))


def _long(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match[0])
    return _say(match[0]) if len(digits) in (10, 11) else match[0]


def _emergency(match: re.Match[str]) -> str:
    if _DIAL_CONTEXT.search(before(match)):
        return digit_words(match[0])
    return match[0]


# Vehicle plates: "14B1-234.56", "29A-123.45", "14B1 23456" → "mười bốn B một, hai ba bốn năm
# sáu": the province number as a number, the series as written, the serial digit by digit.
_PLATE = re.compile(r"(?<![\w.])(\d{2})([A-Z]{1,2})(\d?)[- ](\d{3})\.?(\d{1,2})(?![\w]|[,.]\d)")


def _plate(match: re.Match[str]) -> str:
    series = match[2] + (f" {digit_words(match[3])}" if match[3] else "")
    return f"{integer_words(int(match[1]))} {series}, {digit_words(match[4] + match[5])}"


def read_phone_numbers(text: str) -> str:
    """Phone numbers and vehicle plates in ``text`` read digit by digit, grouped."""
    text = _PLATE.sub(_plate, text)
    text = _LONG.sub(_long, text)
    text = _SERVICE.sub(lambda m: _say(m[0]), text)
    return _EMERGENCY.sub(_emergency, text)
