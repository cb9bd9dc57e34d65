"""A broadcaster's own drafts and rejected bulletins: change the title, the text for speech, the
voice and where and when, save or send for approval (again); delete one after confirming.

The rules are the domain's (``controller.broadcast.editing``): the same as the API's PATCH and
DELETE. A refused change changes nothing; the form comes back with every field as typed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from controller.api.deps import ConfigDep, DbDep
from controller.api.errors import status_of
from controller.broadcast import approval, editing
from controller.errors import DomainError
from controller.models import Bulletin
from controller.web.deps import Viewer, allowed
from controller.web.pages_bulletins import (
    bulletin_or_404,
    detail_page,
    fetching,
    problems_by_field,
    refused,
)
from controller.web.render import page

router = APIRouter(include_in_schema=False)


def domain_errors(exc: DomainError, lang: str) -> dict[str, str]:
    """A refusal next to its field on the bulletin page (the form's foot when it has none)."""
    field = exc.field if exc.field in ("title", "text", "voice") else "submit"
    return {field: exc.message(lang)}


@router.post("/bulletins/{bulletin_id}/submit")
def submit(
    *,
    request: Request,
    db: DbDep,
    config: ConfigDep,
    bulletin_id: str,
    viewer: Annotated[Viewer, allowed("compose", post=True)],
    # not "action": a field of that name would hide the form's own action from scripts
    intent: Annotated[str, Form()] = "submit",
    title: Annotated[str | None, Form()] = None,
    text: Annotated[str | None, Form()] = None,
    voice: Annotated[str | None, Form()] = None,
    where: Annotated[str, Form()] = "",
    zones: Annotated[list[str] | None, Form()] = None,
    nodes: Annotated[list[str] | None, Form()] = None,
    when: Annotated[str, Form()] = "",
    at: Annotated[str, Form()] = "",
    slot: Annotated[str, Form()] = "",
    repeat: Annotated[str, Form()] = "once",
    date: Annotated[str, Form()] = "",
    weekdays: Annotated[list[str] | None, Form()] = None,
    until: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "normal",
    public: Annotated[str, Form()] = "",
) -> Response:
    """Apply the changes to the title and text (a new text is spoken again), then send for
    approval (``intent`` "submit": the request is checked now and again when approved) or only
    keep them ("save"). An unticked "public" box (absent from the form) makes it internal."""
    form = approval.Form(
        where=where,
        zones=tuple(zones or ()),
        nodes=tuple(nodes or ()),
        when=when,
        at=at,
        slot=slot,
        repeat=repeat,
        date=date,
        weekdays=tuple(weekdays or ()),
        until=until,
        priority=priority,
    )
    saving = intent == "save"
    asked, problems = approval.from_form(form)
    errors = {} if saving else problems_by_field(problems, viewer.lang)
    status = 422
    if not errors:
        with db.session() as s:
            bulletin = bulletin_or_404(s, bulletin_id)
            account = viewer.account(s)
            changes = editing.Changes(title=title, text=text, voice=voice)
            try:
                editing.edit(s, config, account, bulletin, changes)
                bulletin.public = bool(public)
                if asked is not None:
                    bulletin.request = asked.model_dump(mode="json")
                if not saving and asked is not None:
                    approval.submit(s, account, bulletin, asked)
            except DomainError as exc:
                errors, status = domain_errors(exc, viewer.lang), status_of(exc)
                s.rollback()
            except approval.RequestProblemsError as exc:
                errors = problems_by_field(exc.problems, viewer.lang)
                s.rollback()
    if errors:
        if fetching(request):
            return refused(errors, status)
        values = {**form.__dict__, "zones": list(form.zones), "nodes": list(form.nodes)}
        values.update(weekdays=list(form.weekdays), public=bool(public))
        values.update({k: v for k, v in (("title", title), ("text", text), ("voice", voice)) if v})
        return detail_page(
            request, viewer, db, config, bulletin_id, values=values, errors=errors, status=status
        )
    url = f"/bulletins/{bulletin_id}?{'saved' if saving else 'submitted'}=1"
    if fetching(request):
        return JSONResponse({"url": url})
    return RedirectResponse(url, status_code=303)


def delete_page(
    request: Request, viewer: Viewer, bulletin: Bulletin, refusal: DomainError | None
) -> Response:
    """The question, or why it cannot be deleted (with the refusal's status)."""
    return page(
        request,
        viewer,
        "bulletins/delete.html",
        b=bulletin,
        refusal=refusal.message(viewer.lang) if refusal else "",
        status_code=status_of(refusal) if refusal else 200,
    )


@router.get("/bulletins/{bulletin_id}/delete")
def confirm_delete(
    request: Request, db: DbDep, bulletin_id: str, viewer: Annotated[Viewer, allowed("compose")]
) -> Response:
    """Ask first: a deleted draft cannot be brought back."""
    with db.session() as s:
        bulletin = bulletin_or_404(s, bulletin_id)
        try:
            editing.check_deletable(s, bulletin, viewer.account(s))
        except DomainError as exc:
            return delete_page(request, viewer, bulletin, exc)
        return delete_page(request, viewer, bulletin, None)


@router.post("/bulletins/{bulletin_id}/delete")
def delete(
    request: Request,
    db: DbDep,
    config: ConfigDep,
    bulletin_id: str,
    viewer: Annotated[Viewer, allowed("compose", post=True)],
) -> Response:
    with db.session() as s:
        bulletin = bulletin_or_404(s, bulletin_id)
        try:
            editing.delete_bulletin(s, config, viewer.account(s), bulletin)
        except DomainError as exc:
            s.rollback()
            return delete_page(request, viewer, bulletin, exc)
    return RedirectResponse("/bulletins?deleted=1", status_code=303)
