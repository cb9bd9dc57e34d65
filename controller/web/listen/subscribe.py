"""The public side of SMS alerts: a villager subscribes a number to a village (number → a code
by SMS → the code back) and unsubscribes with the link each SMS carries.

The same rules as the other villager pages: no login, no cookie, no script; the language is
``?lang=en`` or the form's own ``lang`` field, never a cookie. A form posted from another site
is refused before anything is sent, so no page elsewhere can make the commune text a number.
Rate-limited in ``controller.emergency.subscriptions``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from controller.api.deps import ConfigDep, DbDep
from controller.emergency import subscriptions
from controller.emergency.channels.vault import load_vault
from controller.errors import DomainError, NotFoundError
from controller.web.i18n import LANGUAGES, translate
from controller.web.listen.faults import address, language, same_origin, templates

router = APIRouter(include_in_schema=False)
MAX_FIELD = 40
Field = Annotated[str, Form(max_length=MAX_FIELD)]


def render(
    request: Request,
    lang: str,
    template: str,
    config: ConfigDep,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    def t(key: str, **values: object) -> str:
        return translate(key, lang, **values)

    return templates.TemplateResponse(
        request,
        f"subscribe/{template}",
        {
            "lang": lang,
            "t": t,
            "q": "?lang=en" if lang == "en" else "",
            "commune": config.commune_name,
            **context,
        },
        status_code=status_code,
    )


def refused(
    request: Request, lang: str, config: ConfigDep, status: int, message: str, *, back: str
) -> HTMLResponse:
    return render(
        request, lang, "refused.html", config, status_code=status, message=message, back=back
    )


def form(
    request: Request,
    lang: str,
    config: ConfigDep,
    zone: tuple[str, str],
    *,
    step: str,
    phone: str = "",
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    code, name = zone
    return render(
        request,
        lang,
        "form.html",
        config,
        status_code=status_code,
        zone_code=code,
        zone_name=name,
        step=step,
        phone=phone,
        error=error,
    )


def village(db: DbDep, zone_code: str) -> tuple[str, str] | None:
    with db.session() as s:
        try:
            return zone_code, subscriptions.zone_by_code(s, zone_code).name
        except NotFoundError:
            return None


def unknown_village(request: Request, lang: str, config: ConfigDep) -> HTMLResponse:
    message = translate("faults.refused.unknown_zone", lang)
    return refused(request, lang, config, 404, message, back="/listen")


@router.get("/listen/{zone_code}/subscribe")
def subscribe_page(request: Request, db: DbDep, config: ConfigDep, zone_code: str) -> Response:
    lang = language(request)
    zone = village(db, zone_code)
    if zone is None:
        return unknown_village(request, lang, config)
    return form(request, lang, config, zone, step="number")


@router.post("/listen/{zone_code}/subscribe")
def subscribe(
    request: Request,
    *,
    db: DbDep,
    config: ConfigDep,
    zone_code: str,
    phone: Field = "",
    code: Field = "",
    lang: Field = "",
) -> Response:
    """Without ``code``: send one to ``phone``. With it: confirm the subscription."""
    lang = lang if lang in LANGUAGES else language(request)
    if not same_origin(request, config.web_url):
        message = translate("subscribe.refused.origin", lang)
        return refused(request, lang, config, 403, message, back=f"/listen/{zone_code}")
    zone = village(db, zone_code)
    if zone is None:
        return unknown_village(request, lang, config)
    vault = load_vault(config.data_dir)
    try:
        with db.session() as s:
            if not code.strip():
                subscriptions.request_code(s, vault, zone_code, phone, address(request))
                step = "code"
            else:
                row = subscriptions.confirm_code(s, vault, zone_code, phone, code)
                step = "done" if row.status == "active" else "wrong"
    except DomainError as refusal:
        status = 429 if refusal.code == "subscribe.too_many" else 422
        again = "code" if refusal.field == "code" else "number"
        message = refusal.message(lang)
        return form(
            request, lang, config, zone, step=again, phone=phone, error=message, status_code=status
        )
    if step == "wrong":  # the wrong try is counted (committed above), then refused
        error = subscriptions.wrong_code().message(lang)
        return form(
            request, lang, config, zone, step="code", phone=phone, error=error, status_code=422
        )
    return form(request, lang, config, zone, step=step, phone=phone)


@router.get("/listen/unsubscribe/{token}")
def unsubscribe_page(request: Request, config: ConfigDep, token: str) -> Response:
    """Asks first: a link preview (a chat app fetching the link) must not unsubscribe anyone."""
    return render(request, language(request), "unsubscribe.html", config, token=token, done=False)


@router.post("/listen/unsubscribe/{token}")
def unsubscribe(
    request: Request, db: DbDep, config: ConfigDep, token: str, lang: Field = ""
) -> Response:
    lang = lang if lang in LANGUAGES else language(request)
    if not same_origin(request, config.web_url):
        message = translate("subscribe.refused.origin", lang)
        return refused(request, lang, config, 403, message, back="/listen")
    try:
        with db.session() as s:
            subscriptions.unsubscribe_by_token(s, load_vault(config.data_dir), token)
    except NotFoundError as exc:
        return refused(request, lang, config, 404, exc.message(lang), back="/listen")
    return render(request, lang, "unsubscribe.html", config, token=token, done=True)
