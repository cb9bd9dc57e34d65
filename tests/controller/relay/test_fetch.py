"""What the controller takes from a station's server: limits where the data enters.

A small HTTP server on 127.0.0.1 plays the station (allowed by ``allowed_hosts``, as an
operator would list a station on the LAN)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from controller.relay.fetch import Limits, SourceError
from controller.relay.source import pull

REQUESTS: list[str] = []


class Station(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        REQUESTS.append(self.path)
        if self.path == "/flood":  # 4 MiB at once: far more than any station's bitrate
            self._answer(200, b"\xff" * (4 << 20))
        elif self.path == "/to-inside":
            self.send_response(302)
            self.send_header("Location", "http://10.0.0.1/admin")
            self.end_headers()
        elif self.path == "/page":
            self._answer(200, b"<html><body>not a stream</body></html>" * 50)
        else:
            self._answer(404, b"")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(ConnectionError):  # the relay cut the flood off
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def station() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Station)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def limits(max_kbps: int = 512) -> Limits:
    return Limits(allowed_hosts=["127.0.0.1"], timeout_s=10, max_kbps=max_kbps)


def failure(url: str, lim: Limits) -> SourceError:
    with pytest.raises(SourceError) as failed:
        for _ in pull(url, lim):
            pass
    return failed.value


def test_a_source_sending_more_than_the_bitrate_limit_is_cut_off(station):
    lim = limits(max_kbps=32)
    assert failure(f"{station}/flood", lim).kind == "too_fast"
    # it stopped taking bytes soon after the allowance (32 kbit/s for a 10 s burst)
    assert lim.received < 1 << 20


def test_a_redirect_inside_the_network_is_refused_before_it_is_followed(station):
    failed = failure(f"{station}/to-inside", limits())
    assert failed.kind == "refused"
    assert "10.0.0.1" in str(failed)


def test_an_address_that_is_not_a_stream_is_a_decode_failure(station):
    assert failure(f"{station}/page", limits()).kind == "decode"


def test_a_missing_mount_is_unreachable_and_says_why(station):
    failed = failure(f"{station}/vov1.mp3", limits())
    assert failed.kind == "unreachable"
    assert "404" in str(failed)


def test_an_internal_station_not_listed_by_the_operator_is_never_fetched(station):
    REQUESTS.clear()
    failed = failure(f"{station}/flood", Limits(allowed_hosts=[], timeout_s=10, max_kbps=512))
    assert failed.kind == "refused"
    assert REQUESTS == []
