"""A local HTTP server that records every request and answers as told: the stand-in for an SMS
gateway, Zalo's API or a notice board in tests (real sockets, real HTTP)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: str = "{}"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # never answer (until the server stops): the client times out


@dataclass
class Recorder:
    url: str
    received: list[Received] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)  # used in turn, then `default`
    default: Answer = field(default_factory=Answer)
    release: threading.Event = field(default_factory=threading.Event)
    route: Callable[[str], Answer | None] | None = None  # by path, before `answers`

    def next_answer(self, path: str) -> Answer:
        if self.route is not None and (routed := self.route(path)) is not None:
            return routed
        return self.answers.pop(0) if self.answers else self.default


@contextmanager
def recorder() -> Iterator[Recorder]:
    state: Recorder

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            state.received.append(Received(self.path, dict(self.headers.items()), body))
            answer = state.next_answer(self.path)
            if answer.hang:
                state.release.wait()
                return
            data = answer.body.encode()
            self.send_response(answer.status)
            for name, value in {"Content-Type": "application/json", **answer.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Recorder(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
