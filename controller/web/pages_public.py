"""An approver takes an aired bulletin off the listen-again pages (or puts it back): a bulletin
found wrong after it aired must stop being offered to the public at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from controller import audit
from controller.api.deps import DbDep
from controller.errors import ConflictError
from controller.models import Alert
from controller.web.deps import Viewer, allowed
from controller.web.pages_bulletins import bulletin_or_404

router = APIRouter(include_in_schema=False)


@router.post("/bulletins/{bulletin_id}/public")
def choose_public(
    *,
    db: DbDep,
    bulletin_id: str,
    viewer: Annotated[Viewer, allowed("review", post=True)],
    public: Annotated[str, Form()] = "",
) -> Response:
    with db.session() as s:
        bulletin = bulletin_or_404(s, bulletin_id)
        if s.scalar(select(Alert.id).where(Alert.bulletin_id == bulletin.id)) is not None:
            raise ConflictError(
                "public.alert",
                "an emergency alert is always public; it cannot be taken off",
                "Cảnh báo khẩn cấp luôn công khai, không gỡ được.",
            )
        bulletin.public = bool(public)
        audit.record(
            s, viewer.user.username, "bulletin.public", bulletin.id, public=bulletin.public
        )
    return RedirectResponse(f"/bulletins/{bulletin_id}#public-choice", status_code=303)
