"""SMS subscriptions in the web app: everyone signed in sees the list with numbers masked; an
admin sees them whole (audited), enters a number with the villager's consent recorded (paper
form or verbal) and ends a subscription."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from controller.api.deps import ConfigDep, DbDep
from controller.emergency import subscriptions
from controller.emergency.channels.vault import load_vault
from controller.errors import DomainError
from controller.models import Zone
from controller.web.deps import Viewer, allowed
from controller.web.render import page

router = APIRouter(include_in_schema=False)


def listing_page(
    request: Request,
    viewer: Viewer,
    db: DbDep,
    config: ConfigDep,
    *,
    error: str = "",
    status: int = 200,
    phone: str = "",
) -> Response:
    with db.session() as s:
        rows = subscriptions.listing(s, load_vault(config.data_dir), viewer.account(s))
        zones = [(z.code, z.name) for z in s.scalars(select(Zone).order_by(Zone.name))]
    return page(
        request,
        viewer,
        "admin/subscriptions.html",
        status_code=status,
        rows=rows,
        zones=zones,
        error=error,
        phone=phone,
        methods=subscriptions.CONSENT_METHODS,
    )


@router.get("/admin/subscriptions")
def subscriptions_page(
    request: Request, db: DbDep, config: ConfigDep, viewer: Annotated[Viewer, allowed("view")]
) -> Response:
    return listing_page(request, viewer, db, config)


@router.post("/admin/subscriptions")
def add(
    request: Request,
    *,
    db: DbDep,
    config: ConfigDep,
    viewer: Annotated[Viewer, allowed("admin", post=True)],
    zone: Annotated[str, Form(max_length=64)],
    phone: Annotated[str, Form(max_length=40)],
    consent: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    try:
        with db.session() as s:
            subscriptions.add_with_consent(
                s, load_vault(config.data_dir), viewer.account(s), zone, phone, method=consent
            )
    except DomainError as refusal:
        return listing_page(
            request, viewer, db, config, error=refusal.message(viewer.lang), status=422, phone=phone
        )
    return RedirectResponse("/admin/subscriptions", status_code=303)


@router.post("/admin/subscriptions/{subscription_id}/end")
def end(
    db: DbDep,
    subscription_id: int,
    viewer: Annotated[Viewer, allowed("admin", post=True)],
) -> Response:
    with db.session() as s:
        subscriptions.remove(s, viewer.account(s), subscription_id)
    return RedirectResponse("/admin/subscriptions", status_code=303)
