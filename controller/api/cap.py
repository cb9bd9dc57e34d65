"""CAP 1.2 over HTTP: `POST /api/v1/cap` with the XML document as the body."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy import select

from controller.api.deps import ERRORS, ConfigDep, DbDep, DispatcherDep, EmergencyDep, UserDep
from controller.emergency import cap_ingest
from controller.emergency.cap import CapError
from controller.models import CapMessage
from controller.reports.bulletin import local

router = APIRouter(prefix="/api/v1/cap", tags=["emergency"])


class CapOutcome(BaseModel):
    key: str
    action: str
    reason: str
    zones: list[str]
    alert_id: str | None
    duplicate: bool


class CapMessageOut(BaseModel):
    key: str
    status: str
    msg_type: str
    action: str
    reason: str
    zones: list[str]
    alert_id: str | None
    source: str
    received_at: datetime


@router.post(
    "",
    responses=ERRORS,
    openapi_extra={"requestBody": {"content": {"application/xml": {"schema": {"type": "string"}}}}},
)
async def post_cap(
    request: Request, db: DbDep, config: ConfigDep, dispatcher: DispatcherDep, user: EmergencyDep
) -> CapOutcome:
    """Ingest one CAP 1.2 alert as the caller's own: an account that may raise emergencies,
    its alert waiting for a second account under the two-person rule. Malformed XML, another
    namespace or a missing required field is a 4xx with the reason, and nothing is stored or
    aired. A body over ``max_cap_bytes`` is refused (413) before it is read, as is a caller
    without a token (401)."""
    body = await request.body()
    if not body.strip():
        raise HTTPException(422, "empty body: send the CAP XML document")
    try:
        with db.session() as s:
            outcome = cap_ingest.ingest(s, config, dispatcher, body, poster=user)
    except CapError as exc:
        raise HTTPException(422, f"invalid CAP: {exc}") from None
    return CapOutcome(**outcome.__dict__)


@router.get("", responses=ERRORS)
def list_cap(db: DbDep, _user: UserDep, limit: int = 100) -> list[CapMessageOut]:
    with db.session() as s:
        rows = s.scalars(select(CapMessage).order_by(CapMessage.received_at.desc()).limit(limit))
        return [
            CapMessageOut(
                key=m.key,
                status=m.status,
                msg_type=m.msg_type,
                action=m.action,
                reason=m.reason,
                zones=list(m.zones),
                alert_id=m.alert_id,
                source=m.source,
                received_at=local(m.received_at),
            )
            for m in rows
        ]
