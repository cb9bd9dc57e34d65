"""HTTP API for loudspeaker points: their state, and a technician's volume, test tone and stop.

The control endpoints take their fields as a form (``curl -F``/``-d``) or as a JSON object,
answer 202 once the signed command is queued, and the node's answer is at
``/nodes/{id}/commands/{command_id}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.api.deps import ERRORS, DbDep, DispatcherDep, NodeControllerDep, UserDep
from controller.db import Database
from controller.models import Node, NodeHealth
from controller.nodes import controls as node_controls
from controller.nodes import health as node_health
from controller.reports.bulletin import local
from controller.schemas import CommandStatusOut, ControlOut, HealthOut, NodeOut

router = APIRouter(prefix="/api/v1/nodes", tags=["nodes"])


async def body_fields(request: Request) -> dict[str, object]:
    """The request's fields, whether sent as JSON or as a form."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            raise HTTPException(422, "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise HTTPException(422, "the JSON body must be an object of fields")
        return data
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FieldsDep = Annotated[dict[str, object], Depends(body_fields)]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
BODY_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")


def control(path: str, **fields: dict[str, Any]) -> Callable[[Endpoint], Endpoint]:
    """A control endpoint: 202 once queued, its body documented by hand since it is read by
    ``body_fields`` rather than declared (FastAPI cannot infer it)."""
    schema = {"type": "object", "properties": fields}
    body = {kind: {"schema": schema} for kind in BODY_TYPES}
    return router.post(
        path,
        status_code=202,
        responses=ERRORS,
        openapi_extra={"requestBody": {"content": body}},
    )


@router.get("", responses=ERRORS)
def list_nodes(db: DbDep, _user: UserDep) -> list[NodeOut]:
    with db.session() as s:
        return [
            NodeOut(
                id=n.id,
                name=n.name,
                zone=n.zone.code,
                zone_name=n.zone.name,
                latitude=n.latitude,
                longitude=n.longitude,
                status=n.status,
                playing=n.status_play_id if n.status == "playing" else None,
                last_seen=local(n.last_seen),
                volume=n.volume,
                signal_dbm=n.signal_dbm,
                clock_offset_ms=n.clock_offset_ms,
                agent_version=n.agent_version,
                health=_health(h),
                warnings=[w.code for w in node_health.warnings_of(n, h)],
            )
            for n, h in s.execute(select(Node, NodeHealth).outerjoin(NodeHealth).order_by(Node.id))
        ]


def _health(row: NodeHealth | None) -> HealthOut | None:
    if row is None:
        return None
    return HealthOut.model_validate(row).model_copy(update={"reported_at": local(row.reported_at)})


@control("/{node_id}/volume", volume={"type": "integer", "minimum": 0, "maximum": 100})
def set_volume(
    node_id: str, fields: FieldsDep, db: DbDep, dispatcher: DispatcherDep, user: NodeControllerDep
) -> ControlOut:
    """Volume 0-100 of the normal programme (emergencies keep theirs); kept across restarts."""
    volume = fields.get("volume")
    return _queued(db, lambda s: node_controls.set_volume(s, dispatcher, user, node_id, volume))


@control("/{node_id}/test-tone", seconds={"type": "integer", "minimum": 1, "maximum": 30})
def play_test_tone(
    node_id: str, fields: FieldsDep, db: DbDep, dispatcher: DispatcherDep, user: NodeControllerDep
) -> ControlOut:
    """A 1 kHz tone at the current volume; refused by the node while anything is on air."""
    seconds = fields.get("seconds")
    return _queued(
        db, lambda s: node_controls.play_test_tone(s, dispatcher, user, node_id, seconds)
    )


@control("/{node_id}/stop", reason={"type": "string", "maxLength": node_controls.MAX_REASON})
def stop(
    node_id: str, fields: FieldsDep, db: DbDep, dispatcher: DispatcherDep, user: NodeControllerDep
) -> ControlOut:
    """Silence the point now, an emergency included; what was cut is reported cancelled."""
    reason = str(fields.get("reason") or "")
    return _queued(db, lambda s: node_controls.stop(s, dispatcher, user, node_id, reason))


def _queued(db: Database, queue: Callable[[Session], ControlOut]) -> ControlOut:
    """Queue in one transaction; its commit wakes the dispatcher."""
    with db.session() as s:
        return queue(s)


@router.get("/{node_id}/commands/{command_id}", responses=ERRORS)
def command_status(node_id: str, command_id: str, db: DbDep, _user: UserDep) -> CommandStatusOut:
    with db.session() as s:
        return node_controls.command_status(s, node_id, command_id)
