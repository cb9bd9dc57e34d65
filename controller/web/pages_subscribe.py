"""The public side of SMS alerts: a villager subscribes a number to a village (number → a code
by SMS → the code back) and unsubscribes with the link each SMS carries. No login, no cookie:
these pages set none and read none but the language. Rate-limited in
``controller.emergency.subscriptions``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from controller.api.deps import ConfigDep, DbDep
from controller.emergency import subscriptions
from controller.emergency.channels.vault import load_vault
from controller.errors import DomainError
from controller.web.deps import language
from controller.web.render import page

router = APIRouter(include_in_schema=False)
MAX_FIELD = 40


def form(
    request: Request, zone_name: str, zone_code: str, *, step: str, **context: object
) -> Response:
    status = context.pop("status", 200)
    assert isinstance(status, int)
    return page(
        request,
        None,
        "public/subscribe.html",
        status_code=status,
        zone_name=zone_name,
        zone_code=zone_code,
        step=step,
        **context,
    )


def village(db: DbDep, zone_code: str) -> str:
    with db.session() as s:
        return subscriptions.zone_by_code(s, zone_code).name


@router.get("/listen/{zone_code}/subscribe")
def subscribe_page(request: Request, db: DbDep, zone_code: str) -> Response:
    return form(request, village(db, zone_code), zone_code, step="number", phone="")


@router.post("/listen/{zone_code}/subscribe")
def subscribe(
    request: Request,
    *,
    db: DbDep,
    config: ConfigDep,
    zone_code: str,
    phone: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    code: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    """Without ``code``: send one to ``phone``. With it: confirm the subscription."""
    name = village(db, zone_code)
    lang = language(request)
    vault = load_vault(config.data_dir)
    address = request.client.host if request.client else "?"
    try:
        with db.session() as s:
            if not code.strip():
                subscriptions.request_code(s, vault, zone_code, phone, address)
                step = "code"
            else:
                row = subscriptions.confirm_code(s, vault, zone_code, phone, code)
                step = "done" if row.status == "active" else "wrong"
    except DomainError as refusal:
        status = 429 if refusal.code == "subscribe.too_many" else 422
        again = "code" if refusal.field == "code" else "number"
        return form(
            request,
            name,
            zone_code,
            step=again,
            phone=phone,
            error=refusal.message(lang),
            status=status,
        )
    if step == "wrong":  # the wrong try is counted (committed above), then refused
        error = subscriptions.wrong_code().message(lang)
        return form(request, name, zone_code, step="code", phone=phone, error=error, status=422)
    return form(request, name, zone_code, step=step, phone=phone)


@router.get("/listen/unsubscribe/{token}")
def unsubscribe_page(request: Request, db: DbDep, token: str) -> Response:
    """Asks first: a link preview (a chat app fetching the link) must not unsubscribe anyone."""
    return page(request, None, "public/unsubscribe.html", token=token, done=False)


@router.post("/listen/unsubscribe/{token}")
def unsubscribe(request: Request, db: DbDep, config: ConfigDep, token: str) -> Response:
    with db.session() as s:
        subscriptions.unsubscribe_by_token(s, load_vault(config.data_dir), token)
    return page(request, None, "public/unsubscribe.html", token=token, done=True)
