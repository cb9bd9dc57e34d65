"""The technician's view of villagers' fault reports: the open ones, newest first, with the
point, village, time and what they said; an admin marks one done (in the audit log)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from controller.api.deps import DbDep
from controller.models import Node, now
from controller.public import fault_reports as faults
from controller.web.deps import Viewer, allowed
from controller.web.pages_auth import safe_next
from controller.web.render import page

router = APIRouter(include_in_schema=False)


def fault_rows(s: Session, viewer: Viewer, *, node: Node | None = None) -> list[dict[str, Any]]:
    """Open reports as the pages show them; the phone number only to those who may act on it."""
    show_phone = viewer.can("faults.resolve")
    return [
        {
            "id": r.id,
            "at": r.created_at,
            "zone": r.zone.name,
            "zone_code": r.zone.code,
            "node_id": r.node_id,
            "node_name": r.node.name if r.node else "",
            "problem": r.problem,
            "note": r.note,
            "phone": r.phone if show_phone else "",
        }
        for r in faults.open_reports(s, node=node)
    ]


@router.get("/faults")
def faults_page(
    request: Request, db: DbDep, viewer: Annotated[Viewer, allowed("view")]
) -> Response:
    with db.session() as s:
        rows = fault_rows(s, viewer)
    done = request.query_params.get("done") == "1"
    return page(request, viewer, "faults/index.html", faults=rows, done=done)


@router.post("/faults/{report_id}/done")
def mark_done(
    db: DbDep,
    report_id: int,
    viewer: Annotated[Viewer, allowed("faults.resolve", post=True)],
    next: Annotated[str, Form(max_length=300)] = "/faults",
) -> Response:
    with db.session() as s:
        faults.resolve(s, report_id, viewer.user.username, now())
    target = safe_next(next)
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{joiner}done=1", status_code=303)
