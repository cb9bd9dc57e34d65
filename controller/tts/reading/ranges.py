"""Ranges of numbers: "23-28", "5–7 ngày", "25–27°C", "10 - 15%".

Read "từ A đến B" ("5-7 ngày" → "từ năm đến bảy ngày"); "từ" is not added when the text has it
already or after "trong", "lúc", "khoảng"..., for years ("2021-2025", "năm học 2025-2026": "A
đến B"), or after a word that names a thing rather than an amount ("tổ 3-4", "thửa 12-15": "A
đến B"). Beaufort winds say each level, as the weather service does: "gió mạnh cấp 6-7" → "cấp
sáu, cấp bảy"; "mùng 5-7" is "mùng năm đến mùng bảy". Units were read before this rule, so
"23-28°C" arrives as "23-28 độ C" and stays together.
"""

from __future__ import annotations

import re

from controller.tts.reading.common import NUM, before, ends_with, needs_from, number

_RANGE = re.compile(rf"(?<![\w,.\-/])({NUM})\s*[-–—]\s*({NUM})(?![\w/]|[,.]\d)")
_NAMES = (
    "tổ",
    "thôn",
    "xóm",
    "ấp",
    "bản",
    "khu",
    "lô",
    "thửa",
    "tờ",
    "số",
    "phòng",
    "lớp",
    "đội",
    "thứ",
)


def _year(text: str) -> bool:
    return re.fullmatch(r"(?:19|20)\d\d", text) is not None


def _range(match: re.Match[str]) -> str:
    a, b = match[1], match[2]
    said_before = before(match)
    if ends_with(said_before, "cấp"):
        return f"{number(a)}, cấp {number(b)}"
    if ends_with(said_before, "mùng", "mồng"):
        return f"{number(a)} đến mùng {number(b)}"  # "mùng 5-7 Tết": each day says "mùng"
    plain = f"{number(a)} đến {number(b)}"
    if not needs_from(said_before) or (_year(a) and _year(b)):
        return plain
    if ends_with(said_before, *_NAMES):
        return plain
    return f"từ {plain}"


def read_ranges(text: str) -> str:
    """Number ranges in words."""
    return _RANGE.sub(_range, text)
