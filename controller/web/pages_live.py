"""The "Phát trực tiếp" page: choose where, go live (a second tap confirms), watch the level,
the time and the points on air, end with one button. The voice itself travels over the
page's WebSocket (controller/web/live_socket.py) into the live path (controller/live)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from controller.api.deps import DbDep
from controller.models import Node, Zone
from controller.web.deps import Viewer, allowed
from controller.web.live_socket import PATH
from controller.web.pages_emergency import villages
from controller.web.render import page

router = APIRouter(include_in_schema=False)


@router.get("/on-air")
def on_air_page(
    request: Request, db: DbDep, viewer: Annotated[Viewer, allowed("live")]
) -> Response:
    by_village = select(Node, Zone).join(Zone, Node.zone_id == Zone.id)
    with db.session() as s:
        zones = villages(s)
        points = [
            {"id": node.id, "name": node.name, "zone": zone.name}
            for node, zone in s.execute(by_village.order_by(Zone.name, Node.name))
        ]
    return page(
        request,
        viewer,
        "live/on_air.html",
        nav="onair",
        zones=zones,
        points=points,
        total=len(points),
        socket_path=PATH,
    )
