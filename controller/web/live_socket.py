"""The "Phát trực tiếp" page's microphone: a WebSocket into the live path (controller.live).

One socket is one session. The order of things, each refused before the next is read:

1. The handshake: its ``Origin`` must be this site (a page elsewhere cannot borrow the
   broadcaster's cookie), and the session cookie must name an account that may go live.
   Otherwise the handshake is refused (HTTP 403) and nothing is read.
2. The first message, JSON text within ``HELLO_S``: ``{"csrf", "all", "zones", "nodes",
   "title", "reason"}``. A token that is not the session's closes the socket (4403) before any
   audio is taken; bad targets or a point already live elsewhere close it with the reason in
   words. The page then gets ``{"type": "open", "play_id", "targets"}``.
3. Binary frames: 16-bit little-endian mono PCM at 48 kHz (the page's AudioWorklet), each at
   most ``MAX_FRAME_BYTES``, never faster than real time beyond ``BURST_S`` (a phone catching
   up after a stall): ``FrameGate``. A frame past either limit ends the session (what was
   said so far is kept) and the page is told why.
4. The end: ``{"type": "stop"}``, the socket closing, no frame for ``QUIET_S`` (a phone that
   lost its network must not hold the points on air), or someone ending the session elsewhere.
   The page gets ``{"type": "ended", "bulletin_id", "seconds", "reason"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from controller.api.deps import get_config, get_db
from controller.broadcast.targets import resolve_targets
from controller.errors import DomainError
from controller.live import Live, LiveRequest, LiveSummary
from controller.live.session import LiveSession
from controller.web import sessions
from controller.web.deps import Viewer, viewer_of
from controller.web.i18n import translate

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
PATH = "/on-air/socket"
RATE = 48000
HELLO_S = 10.0
QUIET_S = 5.0
BURST_S = 2.0  # audio a sender may have sent ahead of the wall clock since its first frame
MAX_FRAME_BYTES = 16384  # 170 ms of audio: the page sends 40 ms
MAX_HELLO_CHARS = 4096
POLL_S = 0.25  # how often the loop looks whether the session was ended elsewhere

# close codes (4000-4999 are the application's own)
BAD_REQUEST, FORBIDDEN, CONFLICT = 4400, 4403, 4409
TOO_BIG, POLICY, NORMAL = 1009, 1008, 1000


class FrameError(Exception):
    """A frame the session will not take; ``key`` is the UI text saying why."""

    def __init__(self, key: str, code: int) -> None:
        super().__init__(key)
        self.key, self.code = key, code


@dataclass
class FrameGate:
    """Size and rate of the audio frames, checked as they arrive (times given, not read)."""

    first_at: float | None = None
    samples: int = 0

    def take(self, data: bytes, now: float) -> np.ndarray:
        if len(data) > MAX_FRAME_BYTES:
            raise FrameError("onair.error.too_big", TOO_BIG)
        if len(data) % 2:
            raise FrameError("onair.error.format", BAD_REQUEST)
        if self.first_at is None:
            self.first_at = now
        n = len(data) // 2
        if self.samples + n > (now - self.first_at + BURST_S) * RATE:
            raise FrameError("onair.error.too_fast", POLICY)
        self.samples += n
        return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0


def same_origin(websocket: WebSocket) -> bool:
    """The page that opened the socket is this site's own (browsers always send Origin)."""
    origin = websocket.headers.get("origin", "")
    return bool(origin) and urlsplit(origin).netloc == websocket.headers.get("host", "")


def hello_request(hello: dict[str, Any], websocket: WebSocket) -> LiveRequest:
    """The session the first message asks for (raises DomainError for bad targets)."""

    def strings(key: str) -> list[str]:
        value = hello.get(key) or []
        return [str(x) for x in value] if isinstance(value, list) else []

    db = get_db(websocket)  # type: ignore[arg-type]  # the accessor reads app.state only
    with db.session() as s:
        targets = resolve_targets(s, hello.get("all") is True, strings("zones"), strings("nodes"))
    return LiveRequest(
        targets=targets,
        title=str(hello.get("title") or "")[:300],
        reason=str(hello.get("reason") or "")[:300],
        source="web",
    )


async def refuse(websocket: WebSocket, code: int, message: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await websocket.send_json({"type": "error", "message": message})
        await websocket.close(code)


async def read_hello(websocket: WebSocket, viewer: Viewer) -> dict[str, Any] | None:
    """The first message if it carries this session's token; None (socket closed) if not."""
    try:
        text = await asyncio.wait_for(websocket.receive_text(), HELLO_S)
        hello = json.loads(text) if len(text) <= MAX_HELLO_CHARS else None
    except WebSocketDisconnect:
        return None
    except (TimeoutError, KeyError, ValueError):
        hello = None
    if not isinstance(hello, dict):
        await refuse(websocket, BAD_REQUEST, translate("onair.error.hello", viewer.lang))
        return None
    token = hello.get("csrf")
    if not isinstance(token, str) or not sessions.csrf_matches_token(viewer.csrf, token):
        await refuse(websocket, FORBIDDEN, translate("error.csrf", viewer.lang))
        return None
    return hello


@router.websocket(PATH)
async def on_air_socket(websocket: WebSocket) -> None:
    db, config = get_db(websocket), get_config(websocket)  # type: ignore[arg-type]
    viewer = await asyncio.to_thread(viewer_of, websocket, db, config)  # type: ignore[arg-type]
    if not same_origin(websocket) or viewer is None or not viewer.can("live"):
        await websocket.close(FORBIDDEN)  # before accepting: the handshake gets a 403
        return
    await websocket.accept()
    hello = await read_hello(websocket, viewer)
    if hello is None:
        return
    live: Live = websocket.app.state.live
    try:
        request = await asyncio.to_thread(hello_request, hello, websocket)
        session = await asyncio.to_thread(live.open, viewer.user, request)
    except DomainError as exc:
        await refuse(websocket, CONFLICT, exc.message(viewer.lang))
        return
    await websocket.send_json(
        {"type": "open", "play_id": session.play_id, "targets": len(request.targets)}
    )
    await run_session(websocket, live, session, viewer.lang)


async def run_session(websocket: WebSocket, live: Live, session: LiveSession, lang: str) -> None:
    frames: asyncio.Queue[np.ndarray | FrameError | str] = asyncio.Queue()
    reader = asyncio.create_task(read_frames(websocket, frames))
    reason, code = "", NORMAL
    last = time.monotonic()
    try:
        while not session.stopping.is_set():
            try:
                item = await asyncio.wait_for(frames.get(), POLL_S)
            except TimeoutError:
                if time.monotonic() - last > QUIET_S:
                    reason = "the page's microphone went quiet"
                    break
                continue
            if isinstance(item, FrameError):
                reason, code = translate(item.key, "en"), item.code
                message = translate(item.key, lang)
                await send_quietly(websocket, {"type": "error", "message": message})
                break
            if isinstance(item, str):  # the page ended it, or went away
                reason = item
                break
            last = time.monotonic()
            await asyncio.to_thread(live.feed, session, item)
    except asyncio.CancelledError:  # the server dropped the connection's task
        reason = reason or "the page went away"
        raise
    except Exception as exc:
        reason = f"the live source failed: {exc}"
        log.exception("live %s: the page's socket failed", session.play_id)
    finally:
        reader.cancel()
        # what arrived is said; submitted at once and shielded, so that a connection whose
        # task is cancelled (the server going down) still sends it and closes its session
        arrived = drain(frames)
        closing = asyncio.get_running_loop().run_in_executor(
            None, feed_and_close, live, session, arrived, reason
        )
        summary = await asyncio.shield(closing)
    await send_quietly(
        websocket,
        {
            "type": "ended",
            "bulletin_id": summary.bulletin_id,
            "seconds": summary.seconds,
            "reason": summary.reason,
        },
    )
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.close(code)


def drain(frames: asyncio.Queue[np.ndarray | FrameError | str]) -> list[np.ndarray]:
    arrived = []
    while not frames.empty():
        item = frames.get_nowait()
        if isinstance(item, np.ndarray):
            arrived.append(item)
    return arrived


def feed_and_close(
    live: Live, session: LiveSession, arrived: list[np.ndarray], reason: str
) -> LiveSummary:
    for block in arrived:
        if session.stopping.is_set():
            break
        live.feed(session, block)
    return live.close(session, reason)


async def read_frames(
    websocket: WebSocket, frames: asyncio.Queue[np.ndarray | FrameError | str]
) -> None:
    """Take every message as it arrives (the gate judges its time of arrival, not of use)."""
    gate = FrameGate()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            frames.put_nowait("the page went away")
            return
        data = message.get("bytes")
        if data is None:
            if is_stop(message.get("text")):
                frames.put_nowait("ended on the page")
                return
            continue
        try:
            frames.put_nowait(gate.take(data, time.monotonic()))
        except FrameError as exc:
            frames.put_nowait(exc)
            return


def is_stop(text: str | None) -> bool:
    try:
        return bool(json.loads(text or "").get("type") == "stop")
    except (ValueError, AttributeError):
        return False


async def send_quietly(websocket: WebSocket, data: dict[str, Any]) -> None:
    """Tell the page, if it is still there."""
    if websocket.application_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await websocket.send_json(data)
