"""The numbers that no earlier rule claimed: "1.000.000", "12,4", "-2" ("âm hai"), "05".

Runs last: whatever digits remain after it (codes like "A3.2.1") are still read one number at
a time, never skipped.
"""

from __future__ import annotations

import re

from controller.tts.reading.common import NUM, cardinal, number

# A minus sign only where a number starts: at the start, after a space or "(" ("-2°C",
# "từ -3 đến -1"), never between two numbers ("23-28" is a range, read earlier).
_NUMBER = re.compile(rf"(?P<sign>(?:(?<=^)|(?<=[\s(]))[-−])?(?<![\w,.])(?P<n>{NUM})(?!\w)")
_DIGITS = re.compile(r"\d+")


def read_numbers(text: str) -> str:
    """Every remaining number in words; stray digits one group at a time."""
    text = _NUMBER.sub(lambda m: ("âm " if m["sign"] else "") + number(m["n"]), text)
    return _DIGITS.sub(lambda m: f" {cardinal(m[0])} ", text)
