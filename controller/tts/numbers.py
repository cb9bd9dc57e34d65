"""Vietnamese number words: integers, decimals with a comma, digit strings.

Reading rules (Northern standard, as a commune broadcaster reads):
- 10 is "mười", 20–90 are "X mươi"; after "mươi" 1 is "mốt", 4 is "tư"; after "mười"/"mươi" 5 is
  "lăm" (15 "mười lăm", 25 "hai mươi lăm").
- A zero tens digit inside a hundred is "linh" (105 "một trăm linh năm").
- Groups of three: nghìn, triệu, tỷ. Inside a number, a group below 100 still says its hundreds
  ("hai nghìn không trăm hai mươi sáu"); an all-zero group is skipped ("hai triệu năm trăm nghìn").

The Southern dialect says "ngàn" for "nghìn" and "lẻ" for "linh" ("một trăm lẻ năm"). The
dialect is set around a whole normalisation with :func:`dialect` (a context variable, so
threads and tasks reading different voices at once do not mix), not passed to every rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

Dialect = Literal["north", "south"]
DIALECTS: tuple[Dialect, ...] = ("north", "south")
_DIALECT: ContextVar[Dialect] = ContextVar("dialect", default="north")


@contextmanager
def dialect(name: Dialect) -> Iterator[None]:
    """Numbers read inside the ``with`` block use ``name``'s words."""
    if name not in DIALECTS:
        raise ValueError(f"unknown dialect {name!r}: choose from {', '.join(DIALECTS)}")
    token = _DIALECT.set(name)
    try:
        yield
    finally:
        _DIALECT.reset(token)


def _south() -> bool:
    return _DIALECT.get() == "south"


DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_SCALES = ("", "nghìn", "triệu")
_BILLION = 10**9


def _tens_units(n: int, *, inside: bool) -> list[str]:
    """0–99. ``inside``: there are hundreds before it (so 5 is "linh năm", 0 is nothing)."""
    tens, units = divmod(n, 10)
    if tens == 0:
        if units == 0:
            return []
        return ["lẻ" if _south() else "linh", DIGITS[units]] if inside else [DIGITS[units]]
    words = ["mười"] if tens == 1 else [DIGITS[tens], "mươi"]
    if units == 1 and tens >= 2:
        words.append("mốt")
    elif units == 4 and tens >= 2:
        words.append("tư")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(DIGITS[units])
    return words


def _group(n: int, *, leading: bool) -> list[str]:
    """0–999; a non-leading group always says its hundreds ("không trăm ...")."""
    hundreds, rest = divmod(n, 100)
    if leading and hundreds == 0:
        return _tens_units(rest, inside=False)
    return [DIGITS[hundreds], "trăm", *_tens_units(rest, inside=True)]


def integer_words(n: int) -> str:
    """Read an integer: 21 → "hai mươi mốt", 2026 → "hai nghìn không trăm hai mươi sáu"."""
    if n < 0:
        return "âm " + integer_words(-n)
    if n == 0:
        return DIGITS[0]
    if n >= _BILLION:
        high, low = divmod(n, _BILLION)
        words = [integer_words(high), "tỷ"]
        if low:
            words.append(_below_billion(low, leading=False))
        return " ".join(words)
    return _below_billion(n, leading=True)


def _below_billion(n: int, *, leading: bool) -> str:
    groups: list[int] = []
    while n:
        n, g = divmod(n, 1000)
        groups.append(g)
    if not leading:
        groups += [0] * (3 - len(groups))
    words: list[str] = []
    first = True
    for scale in reversed(range(len(groups))):
        g = groups[scale]
        if g == 0:
            continue
        words += _group(g, leading=first and leading)
        if _SCALES[scale]:
            words.append("ngàn" if _south() and scale == 1 else _SCALES[scale])
        first = False
    return " ".join(words)


def digit_words(digits: str) -> str:
    """Read digit by digit: "0912" → "không chín một hai"."""
    return " ".join(DIGITS[int(d)] for d in digits if d.isdigit())


def decimal_words(whole: str, fraction: str | None) -> str:
    """ "12", "4" → "mười hai phẩy bốn". A fraction of one or two digits without a leading zero
    is read as a number ("3,25" → "ba phẩy hai mươi lăm"), otherwise digit by digit."""
    text = integer_words(int(whole))
    if not fraction:
        return text
    if len(fraction) <= 2 and not fraction.startswith("0"):
        return f"{text} phẩy {integer_words(int(fraction))}"
    return f"{text} phẩy {digit_words(fraction)}"
