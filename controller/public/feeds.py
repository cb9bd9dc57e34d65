"""Podcast feeds: RSS 2.0 with one MP3 enclosure per bulletin (MP3 is what every podcast app
plays), the iTunes tags podcast apps read, and absolute URLs from the configured public address.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree as ET

from controller.public.listing import Aired

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("itunes", ITUNES)
ET.register_namespace("atom", ATOM)


def rss(
    *,
    title: str,
    description: str,
    page_url: str,
    feed_url: str,
    author: str,
    items: list[Aired],
    enclosure: Callable[[Aired], tuple[str, int] | None],
    built: datetime,
    cover_url: str,
) -> bytes:
    """The feed document. ``enclosure`` gives an item's MP3 address and size in bytes (the
    size is required by RSS 2.0: the rendition is made if it is missing); an item whose
    audio cannot be had (None) is left out, as a podcast app could not play it."""
    root = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(root, "channel")
    _text(channel, "title", title)
    _text(channel, "link", page_url)
    _text(channel, "description", description)
    _text(channel, "language", "vi")
    _text(channel, "lastBuildDate", format_datetime(built))
    ET.SubElement(
        channel,
        f"{{{ATOM}}}link",
        {"href": feed_url, "rel": "self", "type": "application/rss+xml"},
    )
    image = ET.SubElement(channel, "image")
    _text(image, "url", cover_url)
    _text(image, "title", title)
    _text(image, "link", page_url)
    ET.SubElement(channel, f"{{{ITUNES}}}image", {"href": cover_url})
    _text(channel, f"{{{ITUNES}}}author", author)
    _text(channel, f"{{{ITUNES}}}summary", description)
    _text(channel, f"{{{ITUNES}}}explicit", "false")
    _text(channel, f"{{{ITUNES}}}type", "episodic")
    ET.SubElement(channel, f"{{{ITUNES}}}category", {"text": "News"})
    owner = ET.SubElement(channel, f"{{{ITUNES}}}owner")
    _text(owner, f"{{{ITUNES}}}name", author)
    for item in items:
        found = enclosure(item)
        if found is None:
            continue
        url, size = found
        entry = ET.SubElement(channel, "item")
        _text(entry, "title", item.title)
        _text(entry, "description", item.text or item.title)
        _text(entry, "guid", f"loa-lang:{item.bulletin_id}", isPermaLink="false")
        _text(entry, "pubDate", format_datetime(item.aired_at))
        ET.SubElement(entry, "enclosure", {"url": url, "length": str(size), "type": "audio/mpeg"})
        _text(entry, f"{{{ITUNES}}}duration", str(round(item.duration_s)))
        _text(entry, f"{{{ITUNES}}}explicit", "false")
        _text(entry, f"{{{ITUNES}}}episodeType", "full")
    body: bytes = ET.tostring(root, encoding="utf-8")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element
