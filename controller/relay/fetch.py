"""Pulling a station's stream: every byte the controller takes from the internet for a relay
comes through here, so the limits live here.

PyAV demuxes and decodes, but it never opens a URL itself: its ``io_open`` hook hands every
open (the stream, an HLS playlist, each HLS segment, a redirect's target) to
:class:`GuardedStream`, which checks the URL (controller/relay/url.py), follows no redirect it
has not checked, gives up on a read that waits longer than ``relay_timeout_s`` and cuts off a
source that sends more than ``relay_max_kbps`` on average (after a 10 s burst: Icecast sends a
few seconds at once to a new listener).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from controller.errors import InvalidInputError
from controller.relay.url import Resolver, check_url, resolve

MAX_REDIRECTS = 3
BURST_S = 10.0
USER_AGENT = "LoaLang-relay/1"


class SourceError(Exception):
    """The source failed; ``kind`` says how, for the report: unreachable | ended | decode
    | too_fast | refused."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass
class Limits:
    allowed_hosts: Sequence[str]
    timeout_s: float
    max_kbps: int
    resolver: Resolver = resolve
    started: float = field(default_factory=time.monotonic)
    received: int = 0
    failure: SourceError | None = None  # the first limit a stream broke, for the report

    def take(self, n: int) -> None:
        self.received += n
        allowance = self.max_kbps * 125 * (time.monotonic() - self.started + BURST_S)
        if self.received > allowance:
            raise self.fail("too_fast", f"the source sent more than {self.max_kbps} kbit/s")

    def fail(self, kind: str, detail: str) -> SourceError:
        if self.failure is None:
            self.failure = SourceError(kind, detail)
        return self.failure


class GuardedStream(io.RawIOBase):
    """One HTTP GET as a read-only file for PyAV, inside ``limits``."""

    def __init__(self, url: str, limits: Limits) -> None:
        super().__init__()
        self._limits = limits
        timeout = httpx.Timeout(limits.timeout_s)
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
        self._response = self._get(url)
        self.url = str(self._response.url)  # after redirects: where relative links start
        self.content_type = self._response.headers.get("content-type", "").lower()
        self._chunks: Iterator[bytes] = self._response.iter_raw()
        self._rest = b""

    def _get(self, url: str) -> httpx.Response:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                check_url(url, self._limits.allowed_hosts, self._limits.resolver)
            except InvalidInputError as exc:
                self._client.close()
                raise self._limits.fail("refused", exc.en) from None
            request = self._client.build_request(
                "GET", url, headers={"User-Agent": USER_AGENT, "Icy-MetaData": "0"}
            )
            try:
                response = self._client.send(request, stream=True)
            except httpx.HTTPError as exc:
                self._client.close()
                raise self._limits.fail("unreachable", f"{url}: {exc}") from None
            if response.is_redirect and "location" in response.headers:
                url = str(response.url.join(response.headers["location"]))
                response.close()
                continue
            if response.status_code != 200:
                response.close()
                self._client.close()
                raise self._limits.fail("unreachable", f"{url}: HTTP {response.status_code}")
            return response
        self._client.close()
        raise self._limits.fail("unreachable", f"more than {MAX_REDIRECTS} redirects")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
            except httpx.TimeoutException:
                raise self._limits.fail(
                    "unreachable", f"no data for {self._limits.timeout_s:g} s"
                ) from None
            except httpx.HTTPError as exc:
                raise self._limits.fail("unreachable", str(exc)) from None
        n = min(len(view), len(self._rest))
        view[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        self._limits.take(n)
        return n

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._client.close()
        super().close()


def read_small(url: str, limits: Limits, most: int = 1 << 20) -> tuple[str, str]:
    """A small document (an HLS playlist): its text and its URL after redirects."""
    stream = GuardedStream(url, limits)
    try:
        data = b""
        while chunk := stream.read(65536):
            data += chunk
            if len(data) > most:
                raise limits.fail("decode", f"{url}: larger than {most} bytes")
        return data.decode("utf-8", "replace"), stream.url
    finally:
        stream.close()
