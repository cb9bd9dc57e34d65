"""A bulletin's title: the one limit the API and the pages share, a title made from a text for
speech (its first words, cut at a word) and one proposed from an uploaded file's name.

A title over the limit is refused, never cut: the broadcaster decides what to drop."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePath

from controller.errors import InvalidInputError

MAX_TITLE = 150
DERIVED_TITLE = 80  # a title made from the text: long enough to tell notices apart
ELLIPSIS = "…"


def checked_title(title: str) -> str:
    """``title`` without surrounding spaces; InvalidInputError when empty or over the limit."""
    title = " ".join(title.split())
    if not title:
        raise InvalidInputError(
            "title.missing",
            "give the bulletin a title",
            "Hãy đặt tiêu đề cho bản tin",
            field="title",
        )
    if len(title) > MAX_TITLE:
        raise InvalidInputError(
            "title.too_long",
            f"the title has {len(title)} characters; at most {MAX_TITLE} are allowed",
            f"Tiêu đề dài {len(title)} ký tự, tối đa {MAX_TITLE} ký tự: hãy rút gọn",
            field="title",
        )
    return title


def title_from_text(text: str, limit: int = DERIVED_TITLE) -> str:
    """The text's first words up to ``limit`` characters, cut at a word boundary, with an
    ellipsis when something was left out; the first sentence alone when it is short enough."""
    words = " ".join(unicodedata.normalize("NFC", text).split())
    first = re.match(r"(.+?[.!?])(\s|$)", words)
    if first and len(first.group(1)) <= limit:
        return first.group(1).rstrip(".")
    if len(words) <= limit:
        return words
    cut = words[: limit - len(ELLIPSIS)]
    if words[len(cut)] != " " and " " in cut:  # mid-word: drop the partial word
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–") + ELLIPSIS


def title_from_filename(name: str) -> str:
    """A readable proposal from an upload's name ("thong-bao_tiem_phong.m4a" → "thong bao tiem
    phong"); empty when nothing readable is left (a phone's "AUD-20261124-WA0003.amr" stays)."""
    stem = PurePath(name).stem if name else ""
    words = " ".join(re.sub(r"[_\-.+]+", " ", stem).split())
    return words[:MAX_TITLE]


def resolved_title(title: str, text: str) -> str:
    """The title to keep: the one given (checked), or for a text for speech one made from it."""
    if not title.strip() and text.strip():
        return title_from_text(text)
    return checked_title(title)
