"""Symbols: what must never be spoken is removed first; what carries meaning is read late.

Emoji, pictographs, arrows, stars, bullets and rules drawn with punctuation ("=====") are
decoration: an engine would read their names ("cảnh báo", "mũi tên") or stumble. A line that
starts with a bullet ("- ", "• ", "+ ", "* ") is a list item: the bullet goes, and a line
break becomes a pause. Symbols with meaning (%, °C, ±, ~, +, &, =, <, >) are read in words.
"""

from __future__ import annotations

import re
import unicodedata

from controller.tts.reading.common import after, before

# Symbols (category So/Sm/Sk) that mean something and are read by a later rule.
_KEEP = frozenset("°℃±+<>=~≤≥%&$₫×−")
# Invisible joiners and emoji variation selectors: part of an emoji, never of a word.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufe0e\ufe0f\ufeff")
# Bullets and ornaments that are punctuation (Po) rather than symbols.
_ORNAMENTS = frozenset("•·‣◦⁃※†‡§¶|¦")
_BULLET_LINE = re.compile(r"^[ \t]*[-–—+*>]+[ \t]+", re.M)
_RULE = re.compile(r"([=*_~#\-.!?+])\1{2,}")
# "Trân trọng./." : the sign-off mark of an official letter says nothing.
_SIGN_OFF = re.compile(r"\./\.")
_ELLIPSIS = re.compile(r"\s*(?:…|\.{3,})")
_LINE_END = re.compile(r"(?<=[^\s.,;:!?])[ \t]*\n+")
_MARKUP = re.compile(r"[*#_^`\\]")


def _decoration(ch: str) -> bool:
    if ch in _KEEP:
        return False
    if ch in _INVISIBLE or ch in _ORNAMENTS:
        return True
    category = unicodedata.category(ch)
    # So: emoji, dingbats, stars, shapes; Sm: arrows; Sk: skin tones; Co: private-use icons.
    return category in ("So", "Sk", "Co", "Cs") or (category == "Sm" and "\u2190" <= ch <= "\u2bff")


def _rule(match: re.Match[str]) -> str:
    ch = match[1]
    if ch == ".":
        return "…"  # "...." is an ellipsis; read by the ellipsis rule
    return ch if ch in "!?" else " "  # "!!!" says "!" once; "=====" says nothing


_MARK = "\x00"
# "nhà cửa ★ chặt cây ★ tích trữ": an ornament between words separated items; keep the pause.
_BETWEEN_WORDS = re.compile(rf"(?<=\w)[ \t]*{_MARK}[{_MARK} \t]*(?=\w)")


def strip_decorations(text: str) -> str:
    """Remove emoji, ornaments, bullets and drawn rules; a line break becomes a pause."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # a browser form sends CRLF
    text = "".join(_MARK if _decoration(ch) else ch for ch in text)
    text = _BETWEEN_WORDS.sub(", ", text).replace(_MARK, " ")
    text = _SIGN_OFF.sub(".", text)
    text = _RULE.sub(_rule, text)
    text = _BULLET_LINE.sub("", text)
    text = _LINE_END.sub(". ", text)  # a heading line without a full stop still ends
    return _MARKUP.sub(" ", text)


def _ellipsis(match: re.Match[str]) -> str:
    rest = after(match)
    if re.match(r"\s*\w", rest):
        return ","  # "Chờ… rồi đi": a pause inside the sentence
    stop = "" if re.match(r"\s*[.!?)\]]", rest) else "."
    sentence = re.split(r"[.!?:;]\s", before(match))[-1]
    # "gạo, mì, nước…": the list goes on; elsewhere the sentence just ends.
    return f" vân vân{stop}" if "," in sentence else stop


def read_ellipsis(text: str) -> str:
    """ "gạo, mì…" → "gạo, mì vân vân."; "…" elsewhere is a pause or a full stop."""
    return _ELLIPSIS.sub(_ellipsis, text)


_SPOKEN: tuple[tuple[str, str], ...] = (
    (r"(?<!\w)±\s*", "cộng trừ "),
    (r"(?<![\w,.])~\s*(?=\d)", "khoảng "),
    (r"\s*≥\s*", " lớn hơn hoặc bằng "),
    (r"\s*≤\s*", " nhỏ hơn hoặc bằng "),
    (r"(?<=\s)>\s*(?=\d)", "lớn hơn "),
    (r"(?<=\s)<\s*(?=\d)", "nhỏ hơn "),
    (r"\s*=\s*", " bằng "),
    (r"\s*&\s*", " và "),
    (r"(?<=\d)\s*[x×]\s*(?=\d)", " nhân "),
    (r"(?<=[\s(])\+\s*(?=\d)", "cộng "),
    (r"(?<=\w)\s+\+\s+(?=\w)", " cộng "),
    (r"(?<!\w)%", " phần trăm"),
)
_SPOKEN_RE = [(re.compile(p), words) for p, words in _SPOKEN]


def read_symbols(text: str) -> str:
    """±, ~, ≥, ≤, <, >, =, &, ×, + read in words; a lone "~" or "+" with no number is dropped."""
    for pattern, words in _SPOKEN_RE:
        text = pattern.sub(words, text)
    return re.sub(r"[~+<>]", " ", text)
