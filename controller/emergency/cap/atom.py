"""An Atom feed (RFC 4287) whose entries link to CAP documents, as CAP pollers expect.

Each entry carries a short summary and a link of type ``application/cap+xml``: the OASIS CAP
feed convention, which our own feed reader (`feed.py`) and other alerting systems follow.
The document itself is not inlined, so a poller on a slow link reads only a few hundred bytes
per alert until it decides to fetch one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, SubElement, tostring

from controller.emergency.cap.write import cap_time, clean_text

ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_TYPE = "application/cap+xml"
# Names are written unqualified, the namespace declared on the root by hand: ElementTree's
# default_namespace option refuses unqualified attributes (rel, href), which Atom needs.
_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# An empty feed still needs an <updated>; a fixed instant keeps its ETag stable.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    url: str  # the CAP document's address, also the entry's id
    title: str
    summary: str
    updated: datetime
    author: str


def atom_feed(
    *, feed_url: str, page_url: str, title: str, author: str, entries: list[Entry]
) -> bytes:
    """The UTF-8 feed, entries in the order given (newest first is the caller's job)."""
    feed = Element("feed", {"xmlns": ATOM_NS, _LANG: "vi"})
    _add(feed, "id", feed_url)
    _add(feed, "title", title)
    _add(feed, "updated", cap_time(max((e.updated for e in entries), default=NEVER)))
    SubElement(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    SubElement(feed, "link", rel="alternate", type="text/html", href=page_url)
    _add(SubElement(feed, "author"), "name", author)
    for entry in entries:
        el = SubElement(feed, "entry")
        _add(el, "id", entry.url)
        _add(el, "title", entry.title)
        _add(el, "updated", cap_time(entry.updated))
        _add(el, "published", cap_time(entry.updated))
        _add(SubElement(el, "author"), "name", entry.author)
        _add(el, "summary", entry.summary)
        SubElement(el, "link", rel="alternate", type=CAP_TYPE, href=entry.url)
    body = tostring(feed, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode()


def _add(parent: Element, name: str, text: str) -> None:
    SubElement(parent, name).text = clean_text(text)
