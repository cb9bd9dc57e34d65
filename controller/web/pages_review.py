"""Approving bulletins: the approver hears each pending bulletin, before and after processing,
sees where and when it is to air, and approves (which carries the request out) or rejects it
with a comment the broadcaster reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from controller.api.deps import ConfigDep, DbDep, DispatcherDep
from controller.broadcast import approval
from controller.config import ControllerConfig
from controller.db import Database
from controller.models import Bulletin, User
from controller.web import request_words
from controller.web.deps import Viewer, allowed
from controller.web.pages_bulletins import (
    audio_context,
    bulletin_or_404,
    problems_by_field,
    review_history,
)
from controller.web.render import page

router = APIRouter(include_in_schema=False)


def review_page(
    request: Request,
    viewer: Viewer,
    db: Database,
    config: ControllerConfig,
    *,
    failed: str = "",
    errors: dict[str, str] | None = None,
    comment: str = "",
    status: int = 200,
) -> Response:
    """``failed`` names the bulletin whose approval or rejection was refused, with ``errors``."""
    with db.session() as s:
        pending = s.scalars(
            select(Bulletin).where(Bulletin.status == "pending").order_by(Bulletin.created_at)
        ).all()
        authors = {u.id: u for u in s.scalars(select(User))}
        items = [
            {
                "b": b,
                "author": authors.get(b.created_by),
                "asked": request_words.describe(s, b.request, viewer.lang),
                "audio": audio_context(config, b, viewer.lang),
                "own": b.created_by == viewer.user.id,
                # sent again after a rejection: what was asked for then
                "rejections": [r for r in review_history(s, b) if r.decision == "rejected"],
            }
            for b in pending
        ]
        done = request.query_params.get("done", "")
        done_title = ""
        if done and (row := s.get(Bulletin, done)) is not None:
            done_title = row.title
        return page(
            request,
            viewer,
            "bulletins/review.html",
            status_code=status,
            entries=items,
            failed=failed,
            errors=errors or {},
            comment=comment,
            done=done_title,
            outcome=request.query_params.get("outcome", ""),
        )


@router.get("/review")
def review(
    request: Request, db: DbDep, config: ConfigDep, viewer: Annotated[Viewer, allowed("review")]
) -> Response:
    return review_page(request, viewer, db, config)


@router.post("/review/{bulletin_id}/{decision}")
def decide(
    request: Request,
    *,
    db: DbDep,
    config: ConfigDep,
    dispatcher: DispatcherDep,
    bulletin_id: str,
    decision: str,
    viewer: Annotated[Viewer, allowed("review", post=True)],
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Approve (the request is checked again and carried out) or reject with a comment."""
    if decision not in ("approve", "reject"):
        return review_page(request, viewer, db, config, status=404)
    problems: list[approval.Problem] = []
    with db.session() as s:
        bulletin = bulletin_or_404(s, bulletin_id)
        reviewer = viewer.account(s)
        try:
            if decision == "approve":
                approval.approve(s, config, dispatcher, reviewer, bulletin, comment=comment)
            else:
                approval.reject(s, reviewer, bulletin, comment)
            outcome = bulletin.status
        except approval.RequestProblemsError as exc:
            problems = exc.problems
            s.rollback()  # nothing of a refused decision is kept
    if problems:
        status = 403 if problems[0].code == "own_bulletin" else 409
        status = 422 if problems[0].code == "no_comment" else status
        errors = problems_by_field(problems, viewer.lang)
        return review_page(
            request,
            viewer,
            db,
            config,
            failed=bulletin_id,
            errors=errors,
            comment=comment,
            status=status,
        )
    return RedirectResponse(f"/review?done={bulletin_id}&outcome={outcome}", status_code=303)
