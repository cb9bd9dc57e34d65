"""Split a fetched body into CAP documents: a bare <alert>, or an Atom/RSS feed of them.

Feeds either embed the alert inline or link to it; links are returned for the poller to fetch,
so this module stays free of I/O except `fetch`.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element, tostring

import httpx
from pydantic import BaseModel, ConfigDict

from controller.emergency.cap.models import CAP_NS, CapError
from controller.emergency.cap.parse import check_alert_root, parse_xml

_ATOM = "{http://www.w3.org/2005/Atom}"
_CAP_ALERT = "{" + CAP_NS + "}alert"
_CAP_TYPES = ("application/cap+xml", "application/xml", "text/xml")
MAX_BODY_BYTES = 5 * 1024 * 1024  # a CAP feed is kilobytes; refuse anything absurd


class FeedItems(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    alerts: list[bytes] = []  # serialised CAP documents, each ready for `parse_cap`
    links: list[str] = []  # absolute URLs of CAP documents to fetch


def _media_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.split(";")[0].strip().lower() or None


def extract_alerts(
    body: bytes, content_type: str | None, *, base_url: str | None = None
) -> FeedItems:
    """CAP documents and CAP links in `body`. Raises `CapError` for anything else.

    Relative links are resolved against `base_url` (the feed's own URL) when given.
    """
    media = _media_type(content_type)
    if media is not None and not media.endswith("xml"):  # text/xml, application/*+xml
        raise CapError(f"unsupported content type {media!r}; expected CAP, Atom or RSS XML")
    root = parse_xml(body)
    local = root.tag.rpartition("}")[2]
    if local == "alert":
        check_alert_root(root)  # a CAP 1.1 alert gets "unsupported namespace" here
        return FeedItems(alerts=[body])
    if root.tag == _ATOM + "feed":
        entries = root.findall(_ATOM + "entry")
    elif root.tag == "rss":
        entries = root.findall("channel/item")
    else:
        raise CapError(f"root element <{local}> is not a CAP alert, Atom feed or RSS feed")
    alerts: list[bytes] = []
    links: list[str] = []
    for entry in entries:
        inline = list(entry.iter(_CAP_ALERT))
        # ElementTree re-declares the CAP namespace on the subtree, so each piece parses alone.
        alerts.extend(tostring(a, encoding="utf-8", xml_declaration=False) for a in inline)
        if not inline:
            links.extend(urljoin(base_url or "", href) for href in _entry_links(entry))
    return FeedItems(alerts=alerts, links=list(dict.fromkeys(links)))


def _entry_links(entry: Element) -> list[str]:
    hrefs: list[str] = []
    for link in entry.findall(_ATOM + "link"):
        href, kind = link.get("href"), (link.get("type") or "").lower()
        if href and (kind in _CAP_TYPES or (not kind and _looks_like_cap(href))):
            hrefs.append(href)
    content = entry.find(_ATOM + "content")
    if content is not None and content.get("src"):
        hrefs.append(content.get("src", ""))
    for enclosure in entry.findall("enclosure"):  # RSS
        url, kind = enclosure.get("url"), (enclosure.get("type") or "").lower()
        if url and kind in _CAP_TYPES:
            hrefs.append(url)
    link_text = entry.findtext("link")  # RSS: CAP index feeds put the document URL here
    if not hrefs and link_text and link_text.strip():
        hrefs.append(link_text.strip())
    return hrefs


def _looks_like_cap(href: str) -> bool:
    return urlsplit(href).path.lower().endswith((".xml", ".cap"))


def _get(url: str, timeout_s: float) -> tuple[bytes, str | None, str]:
    """Body, content type and final URL (after redirects), never reading past MAX_BODY_BYTES."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise CapError(f"refusing to fetch {url!r}: only http and https feeds are supported")
    with httpx.stream("GET", url, timeout=timeout_s, follow_redirects=True) as response:
        response.raise_for_status()
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise CapError(f"{url} is larger than {MAX_BODY_BYTES} bytes; refused")
            chunks.append(chunk)
        return b"".join(chunks), response.headers.get("content-type"), str(response.url)


def fetch(url: str, timeout_s: float = 10) -> bytes:
    """GET `url` (http/https only), following redirects.

    Raises `httpx.HTTPError` (network, timeout, 4xx/5xx) or `CapError` (scheme, size).
    """
    return _get(url, timeout_s)[0]


def fetch_feed(url: str, timeout_s: float = 10) -> FeedItems:
    """`fetch` plus `extract_alerts`, using the response's content type and final URL as base."""
    body, content_type, final_url = _get(url, timeout_s)
    return extract_alerts(body, content_type, base_url=final_url)
