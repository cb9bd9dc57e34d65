"""Live status for the pages, as Server-Sent Events: node states, and the plays of a bulletin or
an alert. The stream polls the database, so it works the same with several controller processes
behind one load balancer; it sends an event only when its data changed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse

from controller.api.deps import DbDep
from controller.db import Database
from controller.models import Alert, Bulletin
from controller.reports.bulletin import bulletin_report
from controller.web.deps import Viewer, allowed
from controller.web.i18n import translate
from controller.web.plays import plays
from controller.web.points import node_rows

router = APIRouter(include_in_schema=False)
POLL_S = 1.0
KEEPALIVE_S = 15.0  # a comment line now and then keeps proxies from closing an idle stream


def deliveries(db: Database, bulletin_id: str, lang: str) -> dict[str, Any]:
    with db.session() as s:
        bulletin = s.get(Bulletin, bulletin_id)
        if bulletin is None:
            return {}
        report = bulletin_report(s, bulletin)
    return {"bulletin_id": bulletin_id, **plays(report, lang)}


def snapshot(
    db: Database, bulletin_id: str | None, alert_id: str | None, lang: str
) -> dict[str, Any]:
    with db.session() as s:
        data: dict[str, Any] = {"nodes": node_rows(s)}
        if alert_id is not None:
            alert = s.get(Alert, alert_id)
            if alert is not None:
                data["alert"] = {"id": alert.id, "state": alert.state}
    if bulletin_id is not None:
        data["deliveries"] = deliveries(db, bulletin_id, lang)
    return data


def event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/live")
async def live(
    request: Request,
    db: DbDep,
    viewer: Annotated[Viewer, allowed("view")],
    bulletin: str | None = None,
    alert: str | None = None,
) -> StreamingResponse:
    bulletin_id = bulletin
    if alert is not None:
        with db.session() as s:
            row = s.get(Alert, alert)
            if row is None:
                raise HTTPException(404, translate("error.not_found", viewer.lang))
            bulletin_id = row.bulletin_id
    elif bulletin is not None:
        with db.session() as s:
            if s.get(Bulletin, bulletin) is None:
                raise HTTPException(404, translate("error.not_found", viewer.lang))

    async def stream() -> AsyncIterator[str]:
        sent: dict[str, Any] = {}
        quiet = 0.0
        yield "retry: 3000\n\n"
        while not await request.is_disconnected():
            now = await asyncio.to_thread(snapshot, db, bulletin_id, alert, viewer.lang)
            for name, data in now.items():
                if sent.get(name) != data:
                    sent[name] = data
                    quiet = 0.0
                    yield event(name, data)
            if quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield ": keepalive\n\n"
            await asyncio.sleep(POLL_S)
            quiet += POLL_S

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
