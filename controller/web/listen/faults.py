"""``/listen/{zone_code}/report``: the villager's fault report form and its answers.

No login, no cookie, no script: a plain form that works on any phone. It posts only with the
signed token it was served with (``fault_reports.form_token``), and a browser that says the post
comes from another site is refused before anything is read. Answers are pages in plain words,
Vietnamese unless ``?lang=en``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from controller.api.deps import ConfigDep, DbDep, get_config
from controller.api.limits import declared_length
from controller.config import ControllerConfig
from controller.db import Database
from controller.errors import DomainError, InvalidInputError, NotFoundError
from controller.models import now
from controller.public import fault_reports as faults
from controller.web.i18n import LANGUAGES, translate

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
MAX_BODY = 8 * 1024  # four short fields: anything bigger is not a report
FIELDS = ("point", "problem", "note", "phone")
STORING = threading.Lock()


def language(request: Request, form: FormData | None = None) -> str:
    chosen = (form.get("lang") if form else None) or request.query_params.get("lang", "")
    return chosen if isinstance(chosen, str) and chosen in LANGUAGES else "vi"


def render(
    request: Request, lang: str, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    def t(key: str, **values: object) -> str:
        return translate(key, lang, **values)

    return templates.TemplateResponse(
        request,
        f"faults/{template}",
        {"lang": lang, "t": t, "commune": get_config(request).commune_name, **context},
        status_code=status_code,
    )


def address(request: Request) -> str:
    return request.client.host if request.client else "?"


def refused(
    request: Request, lang: str, status: int, message: str, *, zone_code: str = "", minutes: int = 0
) -> HTMLResponse:
    return render(
        request,
        lang,
        "refused.html",
        status_code=status,
        message=message,
        zone_code=zone_code,
        minutes=minutes,
    )


@router.get("/listen/{zone_code}/report")
def report_form(request: Request, zone_code: str, db: DbDep, config: ConfigDep) -> Response:
    lang = language(request)
    return form_page(request, db, config, zone_code, lang=lang)


def form_page(
    request: Request,
    db: Database,
    config: ControllerConfig,
    zone_code: str,
    *,
    lang: str,
    typed: dict[str, str] | None = None,
    error: DomainError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The form, with what was typed and the reason it was not taken, and a fresh token."""
    with db.session() as s:
        try:
            zone = faults.zone_of(s, zone_code)
        except NotFoundError:
            message = translate("faults.refused.unknown_zone", lang)
            return refused(request, lang, 404, message)
        points = faults.points_of(s, zone)
        zone_name = zone.name
    key = faults.secret(config)
    return render(
        request,
        lang,
        "form.html",
        status_code=status_code,
        zone_code=zone_code,
        zone_name=zone_name,
        points=points,
        problems=faults.PROBLEMS,
        token=faults.form_token(key, zone_code, address(request), now()),
        typed={name: (typed or {}).get(name, "") for name in FIELDS},
        problem_message=error.message(lang) if error else "",
        field=error.field if error else "",
        note_max=faults.NOTE_MAX,
        phone_max=faults.PHONE_MAX,
    )


@router.post("/listen/{zone_code}/report")
async def report_post(request: Request, zone_code: str, db: DbDep, config: ConfigDep) -> Response:
    lang = language(request)
    if not same_origin(request, config.web_url):
        message = translate("faults.refused.origin", lang)
        return refused(request, lang, 403, message, zone_code=zone_code)
    if declared_length(request) > MAX_BODY:
        message = translate("faults.refused.too_large", lang)
        return refused(request, lang, 413, message, zone_code=zone_code)
    try:
        form = await request.form(max_files=0, max_fields=len(FIELDS) + 2)
    except StarletteHTTPException:  # a file, or too many fields: not our form
        message = translate("faults.refused.too_large", lang)
        return refused(request, lang, 400, message, zone_code=zone_code)
    return await run_in_threadpool(_take, request, db, config, zone_code, form)


def _take(
    request: Request, db: Database, config: ControllerConfig, zone_code: str, form: FormData
) -> Response:
    """Check and store the posted report (in a worker thread: the database may wait on a lock)."""
    lang = language(request, form)
    typed = {name: str(form.get(name) or "") for name in FIELDS}
    key = faults.secret(config)
    at = now()
    token = str(form.get("token") or "")
    if not faults.token_valid(key, token, zone_code, address(request), at):
        expired = InvalidInputError(
            "faults.token",
            translate("faults.form.expired", "en"),
            translate("faults.form.expired", "vi"),
        )
        return form_page(
            request, db, config, zone_code, lang=lang, typed=typed, error=expired, status_code=403
        )
    report = faults.Report(zone_code=zone_code, **typed)
    try:
        # One report at a time, to its commit: two posts at once cannot both pass the count.
        with STORING, db.session() as s:
            faults.submit(s, report, faults.sender_key(key, address(request)), at)
    except faults.TooManyReportsError as exc:
        response = refused(
            request,
            lang,
            429,
            exc.message(lang),
            zone_code=zone_code,
            minutes=max(1, round(exc.retry_after_s / 60)),
        )
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except NotFoundError:
        return refused(request, lang, 404, translate("faults.refused.unknown_zone", lang))
    except InvalidInputError as exc:
        return form_page(
            request, db, config, zone_code, lang=lang, typed=typed, error=exc, status_code=422
        )
    return RedirectResponse(f"/listen/{zone_code}/report/sent?lang={lang}", status_code=303)


@router.get("/listen/{zone_code}/report/sent")
def report_sent(request: Request, zone_code: str, db: DbDep) -> Response:
    lang = language(request)
    with db.session() as s:
        try:
            zone_name = faults.zone_of(s, zone_code).name
        except NotFoundError:
            return refused(request, lang, 404, translate("faults.refused.unknown_zone", lang))
    return render(request, lang, "sent.html", zone_code=zone_code, zone_name=zone_name)


def same_origin(request: Request, public_url: str) -> bool:
    """False when the browser says the form was posted from another site (``Origin``, sent by
    every current browser on a cross-site post); a request without one is judged by its token."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    own = {f"{request.url.scheme}://{request.headers.get('host', '')}", _origin_of(public_url)}
    return origin in own


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
