"""The CAP feed poller against a real local HTTP server that counts requests: it fetches a
linked document once, and a second poll of an unchanged feed fetches only the feed."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from controller import jobs
from controller.delivery.dispatcher import Dispatcher
from controller.emergency import cap_ingest
from controller.models import CapMessage
from tests.controller.commune import Commune
from tests.support.cap import alert_xml

# No area: stored and logged, nothing to speak (no point is in the alert's area).
LINKED = {f"/cap/{n}.xml": alert_xml(identifier=f"VN-TTH-{n}") for n in (1, 2)}
INLINE = alert_xml(identifier="VN-TTH-INLINE").decode()
ATOM = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>PCTT</title>
  <entry><id>inline</id><content type="text/xml">{INLINE}</content></entry>
  <entry><id>1</id><link type="application/cap+xml" href="/cap/1.xml"/></entry>
  <entry><id>2</id><link type="application/cap+xml" href="/cap/2.xml"/></entry>
</feed>""".encode()


class Province:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.routes = {"/feed.atom": ATOM, **LINKED}
        routes, requests = self.routes, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests[self.path] += 1
                body = routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/atom+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def province() -> Iterator[Province]:
    made = Province()
    thread = threading.Thread(target=made.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield made
    finally:
        made.httpd.shutdown()
        made.httpd.server_close()
        thread.join()


@pytest.fixture
def poller(commune: Commune, dispatcher: Dispatcher) -> Iterator[None]:
    jobs._running = jobs.Running(commune.config, commune.db, dispatcher)
    try:
        yield
    finally:
        jobs._running = None


def stored(commune: Commune) -> dict[str, str | None]:
    with commune.db.session() as s:
        return {m.key.split(",")[1]: m.link for m in s.scalars(select(CapMessage))}


def test_a_second_poll_of_an_unchanged_feed_fetches_only_the_feed(commune, province, poller):
    feed = f"{province.url}/feed.atom"
    jobs.poll_cap_feed(feed)
    assert province.requests == {"/feed.atom": 1, "/cap/1.xml": 1, "/cap/2.xml": 1}
    assert stored(commune) == {
        "VN-TTH-INLINE": None,
        "VN-TTH-1": f"{province.url}/cap/1.xml",
        "VN-TTH-2": f"{province.url}/cap/2.xml",
    }

    jobs.poll_cap_feed(feed)
    assert province.requests == {"/feed.atom": 2, "/cap/1.xml": 1, "/cap/2.xml": 1}


def test_a_new_link_is_fetched_and_one_that_failed_is_tried_again(commune, province, poller):
    del province.routes["/cap/2.xml"]  # the province's server has not published it yet
    feed = f"{province.url}/feed.atom"
    jobs.poll_cap_feed(feed)
    assert set(stored(commune)) == {"VN-TTH-INLINE", "VN-TTH-1"}

    province.routes["/cap/2.xml"] = LINKED["/cap/2.xml"]
    jobs.poll_cap_feed(feed)
    assert province.requests == {"/feed.atom": 2, "/cap/1.xml": 1, "/cap/2.xml": 2}
    assert set(stored(commune)) == {"VN-TTH-INLINE", "VN-TTH-1", "VN-TTH-2"}


def test_a_document_posted_by_hand_first_is_recognised_by_its_link(
    commune, dispatcher, province, poller
):
    with commune.db.session() as s:  # by the feed's trusted path, so the poll is a duplicate
        cap_ingest.ingest(s, commune.config, dispatcher, LINKED["/cap/1.xml"], poster=None)
    feed = f"{province.url}/feed.atom"
    jobs.poll_cap_feed(feed)
    jobs.poll_cap_feed(feed)
    assert province.requests["/cap/1.xml"] == 1
    assert stored(commune)["VN-TTH-1"] == f"{province.url}/cap/1.xml"
