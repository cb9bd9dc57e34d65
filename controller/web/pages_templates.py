"""Notice and alert templates (Mẫu): admins and approvers list, add, change and delete the
templates broadcasters fill in on the compose and emergency pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from controller.api.deps import DbDep
from controller.api.errors import status_of
from controller.broadcast import message_templates
from controller.errors import DomainError
from controller.web.deps import Viewer, allowed
from controller.web.i18n import translate
from controller.web.render import page

router = APIRouter(include_in_schema=False)


@router.get("/templates")
def template_list(
    request: Request, db: DbDep, viewer: Annotated[Viewer, allowed("templates.edit")]
) -> Response:
    with db.session() as s:
        listed = message_templates.listed(s)
    return page(
        request,
        viewer,
        "message_templates/index.html",
        groups=[(kind, [t for t in listed if t.kind == kind]) for kind in message_templates.KINDS],
        done=request.query_params.get("done", ""),
    )


def edit_page(
    request: Request,
    viewer: Viewer,
    *,
    template_id: int | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        viewer,
        "message_templates/edit.html",
        status_code=status,
        template_id=template_id,
        values=values,
        errors=errors or {},
        kinds=message_templates.KINDS,
    )


@router.get("/templates/new")
def new_template(
    request: Request, viewer: Annotated[Viewer, allowed("templates.edit")], kind: str = "notice"
) -> Response:
    kind = kind if kind in message_templates.KINDS else "notice"
    return edit_page(
        request, viewer, template_id=None, values={"kind": kind, "name": "", "body": ""}
    )


@router.get("/templates/{template_id}")
def template_page(
    request: Request,
    db: DbDep,
    template_id: int,
    viewer: Annotated[Viewer, allowed("templates.edit")],
) -> Response:
    with db.session() as s:
        row = message_templates.get(s, template_id)
        values = {"kind": row.kind, "name": row.name, "body": row.body}
    return edit_page(request, viewer, template_id=template_id, values=values)


def save(
    request: Request,
    db: DbDep,
    viewer: Viewer,
    template_id: int | None,
    values: dict[str, str],
) -> Response:
    try:
        with db.session() as s:
            message_templates.save(s, viewer.account(s), template_id=template_id, **values)
    except DomainError as exc:
        errors = {exc.field or "body": exc.message(viewer.lang)}
        return edit_page(
            request,
            viewer,
            template_id=template_id,
            values=values,
            errors=errors,
            status=status_of(exc),
        )
    return RedirectResponse("/templates?done=saved", status_code=303)


@router.post("/templates")
def add_template(
    *,
    request: Request,
    db: DbDep,
    viewer: Annotated[Viewer, allowed("templates.edit", post=True)],
    kind: Annotated[str, Form()] = "notice",
    name: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    return save(request, db, viewer, None, {"kind": kind, "name": name, "body": body})


@router.post("/templates/{template_id}")
def change_template(
    *,
    request: Request,
    db: DbDep,
    template_id: int,
    viewer: Annotated[Viewer, allowed("templates.edit", post=True)],
    kind: Annotated[str, Form()] = "notice",
    name: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    return save(request, db, viewer, template_id, {"kind": kind, "name": name, "body": body})


@router.post("/templates/{template_id}/delete")
def delete_template(
    request: Request,
    db: DbDep,
    template_id: int,
    viewer: Annotated[Viewer, allowed("templates.edit", post=True)],
    sure: Annotated[str, Form()] = "",
) -> Response:
    with db.session() as s:
        row = message_templates.get(s, template_id)
        if not sure:
            values = {"kind": row.kind, "name": row.name, "body": row.body}
            errors = {"sure": translate("templates.delete_unsure", viewer.lang)}
            return edit_page(
                request, viewer, template_id=template_id, values=values, errors=errors, status=422
            )
        message_templates.delete(s, viewer.account(s), template_id)
    return RedirectResponse("/templates?done=deleted", status_code=303)
