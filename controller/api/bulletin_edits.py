"""HTTP API for changing and deleting a broadcaster's own drafts and rejected bulletins, and
sending them for approval again: the same domain and checks as the web app's bulletin page."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from controller.api.deps import ERRORS, ConfigDep, DbDep, UserDep, found, require
from controller.broadcast import approval, editing
from controller.errors import InvalidInputError
from controller.models import Bulletin, User
from controller.reports.bulletin import bulletin_out
from controller.schemas import BulletinOut

router = APIRouter(prefix="/api/v1")


class BulletinEdit(BaseModel):
    """Fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(
        None, description="at most 150 characters; empty for speech: made from the text"
    )
    text: str | None = Field(None, max_length=20000, description="speech only: spoken again")
    voice: str | None = Field(None, description="vi | vi-vn-x-central | vi-vn-x-south")
    request: approval.BroadcastRequest | None = Field(
        None, description="where, when and priority, as the web app asks for them"
    )
    submit: bool = Field(False, description="send for approval (again) after the changes")


@router.patch("/bulletins/{bulletin_id}", responses=ERRORS)
def edit_bulletin(
    bulletin_id: str, body: BulletinEdit, db: DbDep, config: ConfigDep, user: UserDep
) -> BulletinOut:
    """Change one's own draft or rejected bulletin; an approved, sent or pending one is a 409."""
    require(user, "compose")
    with db.session() as s:
        bulletin = found(s, Bulletin, bulletin_id, "bulletin")
        changes = editing.Changes(title=body.title, text=body.text, voice=body.voice)
        editing.edit(s, config, user, bulletin, changes)
        if body.request is not None:
            bulletin.request = body.request.model_dump(mode="json")
            bulletin.priority = body.request.priority
        if body.submit:
            _submit(s, user, bulletin)
        return bulletin_out(s, bulletin)


def _submit(s: Session, user: User, bulletin: Bulletin) -> None:
    try:
        asked = approval.BroadcastRequest.model_validate(bulletin.request)
    except ValueError:
        raise InvalidInputError(
            "request.missing",
            "say where and when it is to play (request) before sending it for approval",
            "Hãy chọn nơi phát và thời gian phát trước khi gửi duyệt",
            field="request",
        ) from None
    try:
        approval.submit(s, user, bulletin, asked)
    except approval.RequestProblemsError as exc:
        first = exc.problems[0]
        raise InvalidInputError(
            f"request.{first.code}",
            f"the request cannot be carried out: {exc}",
            f"Không thực hiện được yêu cầu phát: {exc}",
            field=first.field,
        ) from None


@router.delete("/bulletins/{bulletin_id}", status_code=204, responses=ERRORS)
def delete_bulletin(bulletin_id: str, db: DbDep, config: ConfigDep, user: UserDep) -> Response:
    """Delete one's own draft or rejected bulletin that never aired (an admin: anyone's)."""
    require(user, "compose")
    with db.session() as s:
        bulletin = found(s, Bulletin, bulletin_id, "bulletin")
        editing.delete_bulletin(s, config, user, bulletin)
    return Response(status_code=204)
