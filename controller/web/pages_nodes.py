"""The loudspeaker points: a list and a map with live status, and one point's page with its
controls (volume, test tone, stop), which queue signed commands through ``node_controls``."""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.api.deps import DbDep, DispatcherDep
from controller.db import Database
from controller.delivery.dispatcher import Dispatcher
from controller.errors import InvalidInputError
from controller.models import Node, OutboxCommand, Zone
from controller.nodes import controls as node_controls
from controller.releases.rollout import progress
from controller.schemas import ControlOut
from controller.web.deps import Viewer, allowed
from controller.web.health_view import health_view
from controller.web.pages_faults import fault_rows
from controller.web.points import node_rows
from controller.web.render import page, translate_in
from protocol.messages import CommandBody, SignedEnvelope

router = APIRouter(include_in_schema=False)
STATUSES = ("online", "playing", "offline")
# Bars shown for a radio link: at or above each level (dBm) one more bar lights up.
SIGNAL_STEPS = (-95, -85, -75, -65)
CLOCK_WARN_MS = 500  # a point this far off plays its slots audibly early or late
COMMAND_OUTCOMES = ("pending", "acked", "nacked", "expired", "withdrawn")
CONTROLS = ("set_volume", "test_tone", "stop")


def signal_bars(dbm: int | None) -> int | None:
    return None if dbm is None else sum(1 for step in SIGNAL_STEPS if dbm >= step)


def rows_with_titles(s: Session, lang: str) -> list[dict[str, Any]]:
    rows = node_rows(s)
    for row in rows:
        if (row["playing"] or "").startswith("test-tone."):
            row["playing_title"] = translate_in(lang, "nodes.test_tone_playing")
        row["bars"] = signal_bars(row["signal_dbm"])
    return rows


def common(viewer: Viewer) -> dict[str, Any]:
    return {
        "signal_steps": ",".join(str(x) for x in SIGNAL_STEPS),
        "clock_warn_ms": CLOCK_WARN_MS,
        "can_control": viewer.can("nodes.control"),
    }


@router.get("/nodes")
def nodes_page(
    request: Request,
    db: DbDep,
    viewer: Annotated[Viewer, allowed("view")],
    status: str = "",
    zone: str = "",
) -> Response:
    with db.session() as s:
        rows = rows_with_titles(s, viewer.lang)
        zones = s.execute(select(Zone.code, Zone.name).order_by(Zone.name)).all()
        rollouts = progress(s)
    status = status if status in STATUSES else ""
    zone = zone if any(code == zone for code, _ in zones) else ""
    in_zone = [r for r in rows if not zone or r["zone"] == zone]
    return page(
        request,
        viewer,
        "nodes/index.html",
        rows=in_zone,
        points=[r for r in in_zone if r["lat"] is not None and r["lon"] is not None],
        zones=zones,
        status=status,
        zone=zone,
        statuses=STATUSES,
        rollouts=rollouts,
        **common(viewer),
    )


def detail(
    request: Request,
    viewer: Viewer,
    db: Database,
    node_id: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    t = partial(translate_in, viewer.lang)
    with db.session() as s:
        row = next((r for r in rows_with_titles(s, viewer.lang) if r["id"] == node_id), None)
        if row is None:
            raise HTTPException(404, t("nodes.error.unknown"))
        health = health_view(s, node_id, viewer.lang)
        command = context.pop("command", None)
        outcome = None
        if command:
            outcome = command_outcome(s, node_id, command)
        node = s.get(Node, node_id)
        faults = fault_rows(s, viewer, node=node) if node is not None else []
    return page(
        request,
        viewer,
        "nodes/detail.html",
        status_code=status_code,
        node=row,
        health=health,
        outcome=outcome,
        faults=faults,
        fault_done=request.query_params.get("done") == "1",
        **common(viewer),
        **context,
    )


def command_outcome(s: Session, node_id: str, command_id: str) -> dict[str, str] | None:
    cmd = s.get(OutboxCommand, (command_id, node_id))
    if cmd is None:
        return None
    status = node_controls.command_status(s, node_id, command_id)
    kind = command_kind(cmd)
    kind = kind if kind in CONTROLS else "other"  # a play's id typed into the address
    result = status.result if status.result in COMMAND_OUTCOMES else "pending"
    return {"id": command_id, "kind": kind, "result": result, "reason": status.reason}


def command_kind(cmd: OutboxCommand) -> str:
    """Which control a queued command was, from the signed body it carries."""
    envelope = SignedEnvelope.model_validate_json(cmd.envelope)
    return CommandBody.model_validate_json(base64.b64decode(envelope.body)).command.type


@router.get("/nodes/{node_id}")
def node_page(
    request: Request,
    db: DbDep,
    node_id: str,
    viewer: Annotated[Viewer, allowed("view")],
    command: str = "",
) -> Response:
    return detail(request, viewer, db, node_id, command=command[:40])


@router.get("/nodes/{node_id}/commands/{command_id}")
def command_page(
    db: DbDep,
    node_id: str,
    command_id: str,
    viewer: Annotated[Viewer, allowed("view")],
) -> Response:
    """How a control command stands, for the point's page to follow without reloading."""
    with db.session() as s:
        outcome = command_outcome(s, node_id, command_id)
    if outcome is None:
        raise HTTPException(404, translate_in(viewer.lang, "nodes.error.unknown"))
    text = translate_in(viewer.lang, f"nodes.outcome.{outcome['result']}", reason=outcome["reason"])
    return JSONResponse({**outcome, "text": text})


Control = Callable[[Session, Dispatcher], ControlOut]


def run_control(db: Database, dispatcher: Dispatcher, node_id: str, control: Control) -> Response:
    """Queue one control command, then show the point's page following it. A refusal raised
    by ``control`` leaves the transaction uncommitted: nothing is queued or audited."""
    with db.session() as s:
        out = control(s, dispatcher)
    return RedirectResponse(f"/nodes/{node_id}?command={out.command_id}", status_code=303)


@router.post("/nodes/{node_id}/volume")
def set_volume(
    request: Request,
    *,
    db: DbDep,
    dispatcher: DispatcherDep,
    node_id: str,
    viewer: Annotated[Viewer, allowed("nodes.control", post=True)],
    volume: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    level = volume.strip()
    try:
        return run_control(
            db,
            dispatcher,
            node_id,
            lambda s, d: node_controls.set_volume(s, d, viewer.user, node_id, level),
        )
    except InvalidInputError:  # next to the field; a point that is gone gets the error page
        return detail(
            request,
            viewer,
            db,
            node_id,
            status_code=422,
            volume_error="nodes.error.volume",
            volume_typed=volume,
        )


@router.post("/nodes/{node_id}/test-tone")
def test_tone(
    db: DbDep,
    dispatcher: DispatcherDep,
    node_id: str,
    viewer: Annotated[Viewer, allowed("nodes.control", post=True)],
) -> Response:
    return run_control(
        db,
        dispatcher,
        node_id,
        lambda s, d: node_controls.play_test_tone(s, d, viewer.user, node_id),
    )


@router.post("/nodes/{node_id}/stop")
def stop(
    db: DbDep,
    dispatcher: DispatcherDep,
    node_id: str,
    viewer: Annotated[Viewer, allowed("nodes.control", post=True)],
) -> Response:
    return run_control(
        db, dispatcher, node_id, lambda s, d: node_controls.stop(s, d, viewer.user, node_id)
    )
