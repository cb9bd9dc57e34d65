"""Logging in and out, the language switch, and the home page."""

from __future__ import annotations

import secrets
from functools import partial
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from controller import audit, notifications
from controller.api.deps import ConfigDep, DbDep
from controller.config import ControllerConfig
from controller.models import Bulletin, Node
from controller.notifications.words import say
from controller.public import fault_reports
from controller.web import home_view, sessions
from controller.web.deps import LANG_COOKIE, MaybeViewerDep, Viewer, allowed
from controller.web.i18n import LANGUAGES
from controller.web.render import page, translate_in

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "loa_login_csrf"  # double-submit token: there is no session to hold one yet


def safe_next(target: str | None) -> str:
    """Only local paths: a login link must not bounce the user to another site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def secure(request: Request, config: ControllerConfig) -> bool:
    forced = config.secure_cookies
    return forced if forced is not None else request.url.scheme == "https"


def login_form(
    request: Request,
    config: ControllerConfig,
    *,
    next_url: str = "/",
    error: str = "",
    username: str = "",
    status: int = 200,
) -> Response:
    token = secrets.token_urlsafe(24)
    response = page(
        request,
        None,
        "login.html",
        status_code=status,
        csrf=token,
        next_url=next_url,
        error=error,
        username=username,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure(request, config)
    )
    return response


@router.get("/login")
def login_page(
    request: Request, config: ConfigDep, viewer: MaybeViewerDep, next: str = "/"
) -> Response:
    if viewer is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return login_form(request, config, next_url=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    *,
    db: DbDep,
    config: ConfigDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    next_url = safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not sessions.csrf_matches_token(expected, csrf):
        return login_form(request, config, next_url=next_url, error="login.error.csrf", status=400)
    if not username.strip() or not password:
        return login_form(
            request,
            config,
            next_url=next_url,
            error="login.error.empty",
            username=username,
            status=422,
        )
    address = request.client.host if request.client else "?"
    with db.session() as s:
        result = sessions.log_in(s, config, username, password, address)
    if result.retry_after_s:
        response = login_form(
            request,
            config,
            next_url=next_url,
            error="login.error.throttled",
            username=username,
            status=429,
        )
        response.headers["Retry-After"] = str(result.retry_after_s)
        return response
    if result.user is None:
        return login_form(
            request,
            config,
            next_url=next_url,
            error="login.error.wrong",
            username=username,
            status=401,
        )
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        result.token,
        max_age=int(config.session_max_days * 86400),
        httponly=True,
        samesite="lax",
        secure=secure(request, config),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request, db: DbDep, viewer: Annotated[Viewer, allowed("view", post=True)]
) -> Response:
    with db.session() as s:
        sessions.close_session(s, request.cookies.get(sessions.COOKIE, ""))
        audit.record(s, viewer.user.username, "logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE)
    return response


@router.get("/lang/{code}")
def switch_language(db: DbDep, viewer: MaybeViewerDep, code: str, next: str = "/") -> Response:
    """A preference, not an action: a cookie (and the account's default when logged in)."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if code not in LANGUAGES:
        return response
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax")
    if viewer is not None:
        with db.session() as s:
            viewer.account(s).language = code
    return response


@router.get("/")
def home(request: Request, db: DbDep, viewer: Annotated[Viewer, allowed("view")]) -> Response:
    """What matters now, for the viewer's role (controller.web.home_view)."""
    t = partial(translate_in, viewer.lang)
    with db.session() as s:
        counts = dict(s.execute(select(Node.status, func.count()).group_by(Node.status)).all())
        recent = s.scalars(
            select(Bulletin)
            .where(Bulletin.created_by == viewer.user.id)
            .order_by(Bulletin.created_at.desc())
            .limit(5)
        ).all()
        account = viewer.account(s)
        offline, offline_total = home_view.offline(s)
        return page(
            request,
            viewer,
            "home.html",
            counts=counts,
            total=sum(counts.values()),
            recent=recent,
            faults_open=fault_reports.open_count(s),
            today=home_view.today(s, t),
            waiting=home_view.waiting(s) if viewer.can("review") else [],
            rejected=home_view.rejected(s, account) if viewer.can("compose") else [],
            missed=home_view.not_played(s, None if viewer.can("review") else account),
            offline=offline,
            offline_total=offline_total,
            how_long=partial(home_view.how_long, t=t),
            notes=[
                {"n": n, "said": say(n, viewer.lang)}
                for n in notifications.list_for(s, viewer.user.id, limit=3)
                if n.read_at is None
            ],
        )
