"""Roman numerals where a level, a chapter or a term is counted, and only there.

"rủi ro thiên tai cấp III" → "cấp ba", "bão cấp XII" → "cấp mười hai", "Chương II", "quý IV",
"khóa XV", "thế kỷ XXI", "Đại hội XIII", "quân khu IV", "báo động II" / "BĐ II", "lần thứ IV"
→ "lần thứ tư". A numeral is read only after one of these words, so "I", "CV" or "MC" elsewhere
stay what they are; and only the letters I, V and X (1–39): "mục C" is a letter, not a hundred.
"""

from __future__ import annotations

import re

from controller.tts.numbers import integer_words
from controller.tts.reading.common import ordinal

_VALUES = {"I": 1, "V": 5, "X": 10}
_CONTEXT = (
    r"cấp độ|cấp|chương|quý|phần|mục|khóa|khoá|nhiệm kỳ|thế kỷ|giai đoạn|đợt|tập|loại|vùng"
    r"|báo động|BĐ|kỳ họp thứ|lần thứ|thứ|đại hội|quân khu|khu vực"
)
_ROMAN = re.compile(
    rf"(?<!\w)(?P<ctx>{_CONTEXT})(?P<gap>\s*)(?P<n>X{{0,3}}(?:IX|IV|V?I{{0,3}}))(?!\w)", re.I
)


def roman_value(numeral: str) -> int:
    """ "XIV" → 14 (subtractive notation)."""
    total = 0
    for ch, following in zip(numeral, [*numeral[1:], ""], strict=True):
        value = _VALUES[ch]
        total += -value if following and _VALUES[following] > value else value
    return total


def _replace(match: re.Match[str]) -> str:
    numeral = match["n"]
    # Only capitals are numerals ("cấp vi" is not 6); an empty match is just the context word.
    if not numeral or numeral != numeral.upper():
        return match[0]
    if not match["gap"] and match["ctx"] != "BĐ":
        return match[0]  # "cấpI" is a typo or a code, not a level
    ctx, n = match["ctx"], roman_value(numeral)
    if ctx == "BĐ":
        ctx = "báo động"
    words = ordinal(n) if ctx.lower().endswith("thứ") else integer_words(n)
    return f"{ctx} {words}"


# Flood alarm levels are also written with digits glued on: "BĐ2", "trên BĐ 3".
_ALARM_DIGIT = re.compile(r"(?<!\w)BĐ\s*([1-3])(?!\w)")


def read_roman_levels(text: str) -> str:
    """Roman numerals after a counting word read as numbers; "BĐ2" is "báo động hai"."""
    text = _ALARM_DIGIT.sub(lambda m: f"báo động {integer_words(int(m[1]))}", text)
    return _ROMAN.sub(_replace, text)
