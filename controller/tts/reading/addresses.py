"""Web and e-mail addresses, read as people say them aloud.

"dichvucong.gov.vn" → "dichvucong chấm gov chấm vn", "https://www.xa.gov.vn/thong-bao" →
"xa chấm gov chấm vn gạch chéo thong bao" (the scheme and "www" are not said),
"ubnd@xa.gov.vn" → "ubnd a còng xa chấm gov chấm vn". Runs before numbers and abbreviations
read the dots and letters of an address as something else.
"""

from __future__ import annotations

import re

# Labels without inner backtracking (a hyphen only between letters or digits), and a start only
# where no address character precedes: each position is tried once, so "a-a-a-..." stays linear.
_LABEL = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
_TLD = r"(?:vn|com|net|org|gov|edu|info|io)"
_ADDRESS = re.compile(
    rf"(?<![\w@.+\-])(?:https?://)?(?:www\.)?(?:(?P<user>\w+(?:[.+-]\w+)*)@)?"
    rf"(?P<host>(?:{_LABEL}\.)+{_TLD})(?P<path>/[\w\-./?=&%]*)?(?![\w@])",
    re.I,
)


def _say(part: str) -> str:
    return " chấm ".join(p for p in part.split(".") if p)


def _address(match: re.Match[str]) -> str:
    said = _say(match["host"])
    if match["user"]:
        said = f"{_say(match['user'])} a còng {said}"
    path = (match["path"] or "").strip("/")
    if path:
        said += " gạch chéo " + re.sub(r"[/\-_?=&%]+", " ", path).strip()
    return said


def read_addresses(text: str) -> str:
    """Web and e-mail addresses in words ("chấm", "a còng", "gạch chéo")."""
    return _ADDRESS.sub(_address, text)
