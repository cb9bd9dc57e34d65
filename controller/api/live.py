"""HTTP API for live sessions: stream PCM in, see what is live, end a session.

``POST /api/v1/live`` takes the audio as the request body, sent as it is spoken (chunked):
raw 16-bit little-endian mono PCM at 48 kHz (``audio/L16;rate=48000``). Where it goes and why
are query parameters (the body is the voice). The response comes when the session ends (the
body ends, the sender goes away, or someone ends it: ``POST /api/v1/live/<id>/stop``) and
says what was kept. ``loa live`` is its client (controller/live/cli.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from controller.api.deps import ERRORS, DbDep, UserDep, require
from controller.broadcast.targets import resolve_targets, split_list
from controller.live import Live, LiveRequest

router = APIRouter(prefix="/api/v1/live", tags=["live"])
LIVE_BODY_BYTES = 6 * 3600 * 48000 * 2  # six hours of 16-bit mono at 48 kHz


def get_live(request: Request) -> Live:
    live: Live = request.app.state.live
    return live


async def pcm_blocks(request: Request, ended: dict[str, str]) -> AsyncIterator[np.ndarray]:
    """The body as float32 blocks; a sender gone away ends the stream (and says so)."""
    odd = b""
    try:
        async for chunk in request.stream():
            data = odd + chunk
            cut = len(data) // 2 * 2
            data, odd = data[:cut], data[cut:]
            if data:
                yield np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
    except ClientDisconnect:
        ended["reason"] = "the sender went away"


@router.post("", responses=ERRORS)
async def go_live(
    request: Request,
    db: DbDep,
    user: UserDep,
    all: Annotated[bool, Query()] = False,
    zones: Annotated[list[str] | None, Query()] = None,
    nodes: Annotated[list[str] | None, Query()] = None,
    title: Annotated[str, Query(max_length=300)] = "",
    reason: Annotated[str, Query(max_length=300)] = "",
    frame_ms: Annotated[int, Query()] = 40,
    delay_ms: Annotated[int, Query(ge=100, le=10_000)] = 1000,
) -> dict[str, Any]:
    require(user, "live")

    def targets() -> list[str]:
        with db.session() as s:
            return resolve_targets(s, all, split_list(zones), split_list(nodes))

    live_request = LiveRequest(
        targets=await run_in_threadpool(targets),
        title=title,
        reason=reason,
        source="api",
        frame_ms=frame_ms,
        delay_ms=delay_ms,
    )
    ended: dict[str, str] = {}
    summary = await get_live(request).run_async(user, live_request, pcm_blocks(request, ended))
    return {
        "session_id": summary.session_id,
        "play_id": summary.play_id,
        "bulletin_id": summary.bulletin_id,
        "seconds": summary.seconds,
        "packets_sent": summary.packets_sent,
        "source_gaps": summary.source_gaps,
        "reason": ended.get("reason") or summary.reason,
        "targets": live_request.targets,
    }


@router.get("", responses=ERRORS)
def live_now(request: Request, user: UserDep) -> list[dict[str, Any]]:
    require(user, "view")
    return [
        {
            "session_id": x.session_id,
            "play_id": x.play_id,
            "title": x.title,
            "user": x.user,
            "targets": x.targets,
            "source": x.source,
            "opened_at": x.opened_at.isoformat(),
            "seconds_sent": x.seconds_sent,
        }
        for x in get_live(request).current()
    ]


@router.post("/{session_id}/stop", responses=ERRORS)
def stop_live(
    request: Request,
    user: UserDep,
    session_id: str,
    reason: Annotated[str, Form(max_length=300)] = "",
) -> dict[str, str]:
    get_live(request).stop(session_id, user, reason)
    return {"session_id": session_id, "state": "stopping"}
