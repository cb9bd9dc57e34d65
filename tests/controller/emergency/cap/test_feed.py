from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from controller.emergency.cap import CapError, extract_alerts, fetch, fetch_feed, parse_cap
from tests.support.cap import SAMPLES, alert_xml

INLINE = alert_xml(identifier="VN-TTH-INLINE").decode()
ATOM = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Cảnh báo thiên tai Thừa Thiên Huế</title>
  <entry>
    <id>urn:vn:tth:inline</id>
    <title>Lũ sông Hương</title>
    <content type="text/xml">{INLINE}</content>
  </entry>
  <entry>
    <id>urn:vn:tth:linked</id>
    <title>Bão số 9</title>
    <link rel="alternate" type="text/html" href="/tin/bao-so-9.html"/>
    <link rel="alternate" type="application/cap+xml" href="/cap/storm_hue.xml"/>
  </entry>
</feed>""".encode()

RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>CAP</title>
  <item><title>Storm</title><link>http://example.invalid/cap/1.xml</link></item>
  <item><title>Flood</title><link>http://example.invalid/page</link>
    <enclosure url="http://example.invalid/cap/2.xml" type="application/cap+xml" length="1"/>
  </item>
</channel></rss>"""


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[str, bytes]]] = {
        "/feed.atom": ("application/atom+xml; charset=utf-8", ATOM),
        "/cap/storm_hue.xml": ("application/cap+xml", (SAMPLES / "storm_hue.xml").read_bytes()),
    }

    def do_GET(self) -> None:
        if self.path not in self.routes:
            self.send_error(404)
            return
        content_type, body = self.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_atom_feed_over_http_inline_alert_and_link(server: str) -> None:
    items = fetch_feed(f"{server}/feed.atom")
    (inline,) = items.alerts
    inline_alert = parse_cap(inline)
    assert inline_alert.identifier == "VN-TTH-INLINE"
    assert inline_alert.infos[0].headline == "Cảnh báo lũ trên sông Hương"  # UTF-8 survives
    assert items.links == [f"{server}/cap/storm_hue.xml"]  # the HTML link is skipped
    (linked,) = [parse_cap(fetch(url)) for url in items.links]
    assert linked.identifier == "VN-TTH-2026-0142"


def test_fetch_returns_bytes_and_raises_on_http_errors(server: str) -> None:
    assert fetch(f"{server}/feed.atom") == ATOM
    with pytest.raises(httpx.HTTPStatusError):
        fetch(f"{server}/missing.xml")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/cap.xml"])
def test_fetch_refuses_other_schemes(url: str) -> None:
    with pytest.raises(CapError, match="only http and https"):
        fetch(url)


def test_relative_links_stay_relative_without_base_url() -> None:
    assert extract_alerts(ATOM, None).links == ["/cap/storm_hue.xml"]


def test_single_cap_document_passes_through() -> None:
    body = (SAMPLES / "storm_hue.xml").read_bytes()
    items = extract_alerts(body, "application/cap+xml")
    assert items.alerts == [body]
    assert items.links == []


def test_rss_links_and_enclosures() -> None:
    items = extract_alerts(RSS, "application/rss+xml")
    assert items.alerts == []
    assert items.links == ["http://example.invalid/cap/1.xml", "http://example.invalid/cap/2.xml"]


def test_cap_1_1_document_refused_as_unsupported_namespace() -> None:
    with pytest.raises(CapError, match="unsupported namespace"):
        extract_alerts((SAMPLES / "cap11_alert.xml").read_bytes(), "application/xml")


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"{}", "application/json", "unsupported content type 'application/json'"),
        (b"<html><body/></html>", None, "root element <html> is not a CAP alert"),
        (b"<feed", None, "malformed XML at line 1"),
    ],
)
def test_non_feeds_refused(body: bytes, content_type: str | None, message: str) -> None:
    with pytest.raises(CapError, match=message):
        extract_alerts(body, content_type)


def test_feed_entity_attack_refused() -> None:
    body = b"""<?xml version="1.0"?><!DOCTYPE f [<!ENTITY a "aaaa">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&a;</title></feed>"""
    with pytest.raises(CapError, match="refused unsafe XML"):
        extract_alerts(body, None)


def test_fetch_refuses_oversized_body(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("controller.emergency.cap.feed.MAX_BODY_BYTES", 100)
    with pytest.raises(CapError, match="larger than 100 bytes"):
        fetch(f"{server}/feed.atom")
