"""Clock times: "7h30", "7g30", "7:30", "19h", "07h00"; and time ranges read "từ ... đến ...".

"7h30" → "bảy giờ ba mươi phút", "7:00" → "bảy giờ"; "7h-11h30", "7 - 11h" → "từ bảy giờ đến
mười một giờ ba mươi phút" ("từ" is not repeated when the text already says it). "48h" is a
duration, "bốn mươi tám giờ". "19 giờ" is a number and a word, read by the number rule. An
impossible time (25:99) is left for the numbers.
"""

from __future__ import annotations

import re

from controller.tts.numbers import integer_words
from controller.tts.reading.common import before, needs_from

_TIME = r"(?P<h{n}>\d{{1,2}})(?:[hg](?P<m{n}>\d{{2}})?(?:'|p|phút)?|:(?P<c{n}>\d{{2}}))"
_TIME_RE = re.compile(
    r"(?<![\w,.:/])" + _TIME.format(n=1) + r"(?:\s*[-–]\s*" + _TIME.format(n=2) + r")?(?![\w:])"
)
# "7-11h": the first hour takes its "h" from the second.
_HOURS_RE = re.compile(r"(?<![\w,.:/])(\d{1,2})\s*[-–]\s*(\d{1,2})\s*(?:h|giờ)(?!\w)")


def _clock(hour: str, minute: str | None, *, duration: bool = False) -> str | None:
    """``duration``: "48h" is hours of waiting, not a time of day, so more than 24 is fine."""
    h, mi = int(hour), int(minute or 0)
    if (h > 24 and not duration) or mi > 59:
        return None
    words = f"{integer_words(h)} giờ"
    return f"{words} {integer_words(mi)} phút" if mi else words


def _from(match: re.Match[str], first: str, second: str) -> str:
    lead = "từ " if needs_from(before(match)) else ""
    return f"{lead}{first} đến {second}"


def _time(match: re.Match[str]) -> str:
    duration = match["h2"] is None and match["c1"] is None and match["m1"] is None
    first = _clock(match["h1"], match["m1"] or match["c1"], duration=duration)
    if first is None:
        return match[0]
    if match["h2"] is None:
        return first
    second = _clock(match["h2"], match["m2"] or match["c2"])
    return match[0] if second is None else _from(match, first, second)


def _hours(match: re.Match[str]) -> str:
    first, second = _clock(match[1], None), _clock(match[2], None)
    return match[0] if first is None or second is None else _from(match, first, second)


def read_times(text: str) -> str:
    """Clock times and time ranges in words."""
    text = _HOURS_RE.sub(_hours, text)
    return _TIME_RE.sub(_time, text)
