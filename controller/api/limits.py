"""Request bodies are limited before they are read: an ASGI middleware in front of every route.

FastAPI reads and parses a whole form body (spooling uploads to disk) before the route's
dependencies run, and ``request.body()`` buffers whatever arrives, so a check in a route or a
dependency comes after the memory and the disk are spent. Here, before any of the body is read:

- routes that take a recording or a document check the caller's credentials (``gate``), so an
  anonymous upload is refused without reading a byte of it;
- a declared ``Content-Length`` over the route's limit is refused at once (413);
- a body without one (chunked) is counted as it arrives and refused as soon as it passes the
  limit; the rest is never read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A refusal to send instead of running the route, or None to let the request in.
Gate = Callable[[Request], Awaitable[Response | None]]
# The answer to a body over ``limit`` bytes, in the wording of the part of the app it was for.
TooLarge = Callable[[Request, int], Awaitable[Response]]


@dataclass(frozen=True)
class Limit:
    """``method path`` (exact) takes at most ``max_bytes``, from callers ``gate`` lets in."""

    method: str
    path: str
    max_bytes: int
    gate: Gate | None = None


class _OverflowError(Exception):
    """The body passed its limit while the route was reading it."""


class BodyLimit:
    """Applies ``limits`` to the routes they name and ``default`` to every other request."""

    def __init__(
        self, app: ASGIApp, *, limits: Sequence[Limit], default: int, too_large: TooLarge
    ) -> None:
        self.app = app
        self.routes = {(lim.method, lim.path): lim for lim in limits}
        self.default = default
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = self.routes.get((scope["method"], scope["path"]))
        limit = rule.max_bytes if rule else self.default
        request = Request(scope)
        if rule is not None and rule.gate is not None:
            refusal = await rule.gate(request)
            if refusal is not None:
                await refusal(scope, receive, closing(send))
                return
        if declared_length(request) > limit:
            await (await self.too_large(request, limit))(scope, receive, closing(send))
            return
        await self._counted(scope, receive, send, request, limit)

    async def _counted(
        self, scope: Scope, receive: Receive, send: Send, request: Request, limit: int
    ) -> None:
        received = 0
        over = False
        answered = False

        async def counting() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _OverflowError
            return message

        async def sending(message: Message) -> None:
            nonlocal answered
            if over and not answered:
                return  # the route's own answer to a cut-off body (a 400 "cannot parse")
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        with contextlib.suppress(_OverflowError):
            await self.app(scope, counting, sending)
        if over and not answered:
            await (await self.too_large(request, limit))(scope, receive, closing(send))


def closing(send: Send) -> Send:
    """``send`` for an answer given with the body unread: it closes the connection, or the
    server would go on reading (and discarding) the rest of the body to keep it alive."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), (b"connection", b"close")]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def declared_length(request: Request) -> int:
    """The body's declared length; 0 when none is declared (or it is not a number, which the
    server refuses itself)."""
    try:
        return int(request.headers.get("content-length", "0"))
    except ValueError:
        return 0
