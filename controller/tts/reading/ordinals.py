"""Ordinals and weekdays: "thứ 2" → "thứ hai", "lần thứ 4" → "lần thứ tư", "thứ 1" → "thứ
nhất", "T2"–"T7" → "thứ hai"–"thứ bảy" ("CN" is "chủ nhật" in the abbreviation table), and
"tháng 4" → "tháng tư"; "T2-T6", "thứ 2 - CN" → "từ thứ hai đến thứ sáu / chủ nhật"."""

from __future__ import annotations

import re

from controller.tts.numbers import integer_words
from controller.tts.reading.common import before, month, needs_from, ordinal

_DAY = r"(?:T|thứ\s*)([2-7])"
_WEEK_RANGE = re.compile(rf"(?<!\w){_DAY}\s*[-–]\s*(?:{_DAY}|(chủ nhật))(?!\w)", re.I)
_THU = re.compile(r"(?<!\w)(thứ)\s+(\d{1,2})(?!\w|[,.]\d)", re.I)
_WEEKDAY = re.compile(r"(?<!\w)T([2-7])(?!\w)")
_MONTH = re.compile(r"(?<!\w)(tháng)\s+(\d{1,2})(?!\w|[,./]\d)", re.I)


def _week_range(match: re.Match[str]) -> str:
    last = f"thứ {integer_words(int(match[2]))}" if match[2] else "chủ nhật"
    lead = "từ " if needs_from(before(match)) else ""
    return f"{lead}thứ {integer_words(int(match[1]))} đến {last}"


def read_ordinals(text: str) -> str:
    """Ordinals after "thứ", weekday shorthands and month names in words."""
    text = _WEEK_RANGE.sub(_week_range, text)
    text = _THU.sub(lambda m: f"{m[1]} {ordinal(int(m[2]))}", text)
    text = _WEEKDAY.sub(lambda m: f"thứ {integer_words(int(m[1]))}", text)
    return _MONTH.sub(
        lambda m: f"{m[1]} {month(int(m[2]))}" if 1 <= int(m[2]) <= 12 else m[0], text
    )
