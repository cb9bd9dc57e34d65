"""Dates: "ngày 5/3" → "ngày mùng năm tháng ba", as Vietnamese says days 1–10 of a month.

Read: "5/3/2026", "05-03-2026", "5.3.2026" (a "ngày" is added unless the text has one, never
doubled); "ngày 15/3" (no "mùng" after 10); "mùng 5/3"; "ngày 5 tháng 3"; "tháng 11/2026";
"ngày 20-11"; spans "30/4 - 1/5", "từ 12-14/9" ("từ mười hai đến mười bốn tháng chín");
and a bare "5/3" in :mod:`.fractions`. An impossible date (35/13) is not a date.
"""

from __future__ import annotations

import re

from controller.tts.numbers import integer_words
from controller.tts.reading.common import before, month, needs_from

_FULL = re.compile(
    r"(?P<pre>\b(?:ngày|mùng|mồng)\s+)?(?<![\w/.,])(?P<d>\d{1,2})(?P<sep>[/.-])(?P<m>\d{1,2})"
    r"(?P=sep)(?P<y>\d{4})(?![\w/]|[.,]\d)",
    re.I,
)
# After "ngày" a dash or a dot also separates day and month ("Ngày Nhà giáo 20-11").
_DAY_MONTH = re.compile(
    r"(?P<pre>\b(?:ngày|mùng|mồng)\s+)(?P<d>\d{1,2})(?:/|(?P<dash>[.-]))(?P<m>\d{1,2})"
    r"(?![\w/]|[.,]\d)",
    re.I,
)
_YEAR = r"(?:/(?P<y{n}>\d{{4}}))?"
# "30/4 - 1/5", "ngày 30/4-1/5/2026" and "12-14/9": one span of days.
_SPAN = re.compile(
    r"(?P<pre>\b(?:ngày|mùng|mồng)\s+)?(?<![\w/.,])(?P<d1>\d{1,2})(?:/(?P<m1>\d{1,2})"
    + _YEAR.format(n=1)
    + r")?\s*[-–]\s*(?P<d2>\d{1,2})/(?P<m2>\d{1,2})"
    + _YEAR.format(n=2)
    + r"(?![\w/]|[.,]\d)",
    re.I,
)
_DAY_WORD_MONTH = re.compile(r"\b(?P<pre>ngày|mùng|mồng)\s+(?P<d>\d{1,2})(?=\s+tháng\b)", re.I)
_MONTH_YEAR = re.compile(
    r"(?P<pre>\btháng\s+)?(?<![\w/.,])(?P<m>\d{1,2})/(?P<y>\d{4})(?![\w/]|[.,]\d)", re.I
)


def valid(d: int, m: int) -> bool:
    return 1 <= d <= 31 and 1 <= m <= 12


def day(d: int, prefix: str, *, bare: bool = False) -> str:
    """ "ngày mùng năm", "ngày mười lăm", "mùng năm" (when the text said "mùng"); ``bare``: no
    "ngày" is added ("Quốc khánh mùng hai tháng chín", "hạn chót mười lăm tháng ba")."""
    lead = prefix.strip() or ("" if bare else "ngày")
    mung = "mùng " if d <= 10 and lead.lower() not in ("mùng", "mồng") else ""
    return f"{lead} {mung}{integer_words(d)}".strip()


def day_month(d: int, m: int, prefix: str = "", *, bare: bool = False) -> str:
    return f"{day(d, prefix, bare=bare)} tháng {month(m)}"


def _span(match: re.Match[str]) -> str:
    d1, d2, m2 = int(match["d1"]), int(match["d2"]), int(match["m2"])
    m1 = int(match["m1"]) if match["m1"] else m2
    if not (valid(d1, m1) and valid(d2, m2)) or (not match["m1"] and d1 >= d2):
        return match[0]
    pre = match["pre"] or ""
    lead = "từ " if needs_from(before(match)) else ""
    first = day(d1, pre, bare=True)
    if match["m1"]:
        first += f" tháng {month(m1)}" + (
            f" năm {integer_words(int(match['y1']))}" if match["y1"] else ""
        )
    second = f"{day(d2, '', bare=True)} tháng {month(m2)}"
    if match["y2"]:
        second += f" năm {integer_words(int(match['y2']))}"
    return f"{lead}{first} đến {second}"


def _full(match: re.Match[str]) -> str:
    d, m, y = int(match["d"]), int(match["m"]), int(match["y"])
    if not valid(d, m):
        return match[0]
    return f"{day_month(d, m, match['pre'] or '')} năm {integer_words(y)}"


def _day_month(match: re.Match[str]) -> str:
    d, m = int(match["d"]), int(match["m"])
    if match["dash"] and match["pre"].strip().lower() != "ngày":
        return match[0]  # "mùng 5-7" is a span of days, not a date
    return day_month(d, m, match["pre"]) if valid(d, m) else match[0]


def _day_word_month(match: re.Match[str]) -> str:
    d = int(match["d"])
    return day(d, match["pre"]) if 1 <= d <= 31 else match[0]


def _month_year(match: re.Match[str]) -> str:
    m, y = int(match["m"]), int(match["y"])
    if not 1 <= m <= 12:
        return match[0]
    return f"tháng {month(m)} năm {integer_words(y)}"


def read_dates(text: str) -> str:
    """Full dates, day/month after "ngày"/"mùng", "ngày 5 tháng 3" and month/year."""
    text = _SPAN.sub(_span, text)
    text = _FULL.sub(_full, text)
    text = _DAY_MONTH.sub(_day_month, text)
    text = _DAY_WORD_MONTH.sub(_day_word_month, text)
    return _MONTH_YEAR.sub(_month_year, text)
