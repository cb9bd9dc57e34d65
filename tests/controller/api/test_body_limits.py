"""Bodies are limited before they are read, on a real uvicorn server (no broker: nothing is sent).

What is measured is what the server took: the bytes a streamed body gave before the server
stopped reading it, and the server's peak memory. FastAPI parses a form, spooling its upload,
before a route's dependencies run, and ``request.body()`` buffers all of it; only a check in
front of the app refuses before the bytes arrive.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, File, HTTPException, UploadFile
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from controller.nodes import broker
from controller.ops import demo
from controller.web import sessions
from tests.support import http_only

MIB = 1 << 20
BODY = 128 * MIB  # far over every limit below (1 MiB CAP, 2 MiB upload with its fields)
STOPPED_EARLY = 16 * MIB  # what socket buffers may hold before the server's refusal is seen


@dataclass
class Server:
    url: str
    token: str
    proc: subprocess.Popen[bytes]
    root: Path


@dataclass
class Body:
    """A streamed body of ``size`` bytes that counts what was taken from it."""

    size: int
    head: bytes = b""
    taken: int = field(default=0)

    def __iter__(self) -> Iterator[bytes]:
        if self.head:
            self.taken += len(self.head)
            yield self.head
        block = b"\0" * MIB
        while self.taken < self.size:
            self.taken += len(block)
            yield block


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("limits")
    port = broker.free_port()
    cluster = demo.prepare(root, nodes=0, http_port=port, mqtt_port=1, max_upload_bytes=MIB)
    token = demo.credentials(cluster.config)["api_token"]
    proc = http_only.start(root / "controller.json")
    try:
        yield Server(f"http://127.0.0.1:{port}", token, proc, root)
    finally:
        proc.terminate()
        proc.wait()


def post(server: Server, path: str, body: Body, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        return client.post(path, content=body, headers=headers)


def bearer(server: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(server):
    before = http_only.peak_rss(server.proc)
    body = Body(BODY)
    headers = {**bearer(server), "Content-Length": str(BODY), "Content-Type": "application/xml"}
    resp = post(server, "/api/v1/cap", body, headers)
    assert body.taken < STOPPED_EARLY
    assert http_only.peak_rss(server.proc) - before < STOPPED_EARLY
    assert resp.status_code == 413, resp.text
    assert "larger than 1.0 MiB" in resp.json()["detail"]


def test_a_streamed_body_is_cut_off_at_the_limit(server):
    # chunked: no length declared, the server counts what arrives and stops at 1 MiB
    before = http_only.peak_rss(server.proc)
    body = Body(BODY, head=b"<alert>")
    resp = post(server, "/api/v1/cap", body, {**bearer(server), "Content-Type": "application/xml"})
    assert body.taken < STOPPED_EARLY
    assert http_only.peak_rss(server.proc) - before < STOPPED_EARLY
    assert resp.status_code == 413, resp.text
    assert "larger than 1.0 MiB" in resp.json()["detail"]


def multipart(size: int) -> tuple[Body, dict[str, str]]:
    head = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="file"; filename="big.opus"\r\n'
        b"Content-Type: audio/ogg\r\n\r\n"
    )
    return Body(size, head=head), {"Content-Type": "multipart/form-data; boundary=b0undary"}


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/api/v1/bulletins", {}, 401),
        ("/api/v1/bulletins", {"Authorization": "Bearer not-a-token"}, 401),
        ("/api/v1/alerts", {}, 401),
        ("/api/v1/cap", {}, 401),
        ("/bulletins/draft", {}, 303),  # the pages' login redirect
        ("/bulletins/draft", {"Cookie": f"{sessions.COOKIE}=stale"}, 303),
        ("/emergency/review", {"X-Requested-With": "fetch"}, 401),  # the pages' scripts
    ],
)
def test_an_upload_without_credentials_is_refused_before_any_of_it_is_read(
    server, path, headers, status
):
    spool = list(server.root.rglob("*"))
    body, form = multipart(BODY)
    resp = post(server, path, body, {**form, **headers})
    assert body.taken < STOPPED_EARLY
    assert list(server.root.rglob("*")) == spool
    assert resp.status_code == status, resp.text
    if status == 303:
        assert resp.headers["location"].startswith("/login")


def test_an_upload_over_the_limit_from_a_valid_caller_is_cut_off(server):
    body, form = multipart(BODY)
    resp = post(server, "/api/v1/bulletins", body, {**form, **bearer(server)})
    assert body.taken < STOPPED_EARLY
    assert resp.status_code == 413, resp.text
    assert "larger than 2.0 MiB" in resp.json()["detail"]


# An app like ours before the fix: the caller checked by a dependency of the upload route.
spied = FastAPI()
read_so_far: list[int] = [0]
seen_by_dependency: list[int] = []


def caller() -> None:
    seen_by_dependency.append(read_so_far[0])
    raise HTTPException(401, "no")


@spied.post("/upload")
def upload(file: Annotated[UploadFile, File()], _who: Annotated[None, Depends(caller)]) -> None:
    raise AssertionError("not reached")


async def counted(scope: Scope, receive: Receive, send: Send) -> None:
    async def counting() -> Message:
        message = await receive()
        read_so_far[0] += len(message.get("body", b""))
        return message

    await spied(scope, counting, send)


def test_a_dependency_runs_only_after_the_whole_form_is_read():
    # why the check sits in front of the app: FastAPI reads and parses a form (spooling its
    # file) before the route's dependencies run, so a dependency refusing it comes too late
    data = b"\0" * (4 * MIB)
    with TestClient(counted) as client:
        resp = client.post("/upload", files={"file": ("a.opus", data)})
    assert resp.status_code == 401
    assert seen_by_dependency == read_so_far
    assert read_so_far[0] > len(data)


def test_a_request_within_the_limits_is_served_as_before(server):
    resp = httpx.post(
        f"{server.url}/api/v1/cap",
        content=b"<not-cap/>",
        headers={**bearer(server), "Content-Type": "application/xml"},
    )
    assert resp.status_code == 422, resp.text
    assert "invalid CAP" in resp.json()["detail"]
