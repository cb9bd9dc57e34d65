"""The broadcasters' web app: server-rendered pages under /, served by the controller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from controller.api.deps import get_config, get_db
from controller.api.errors import status_of
from controller.errors import DomainError
from controller.web import (
    live,
    live_socket,
    pages_admin,
    pages_auth,
    pages_bulletins,
    pages_calendar,
    pages_drafts,
    pages_emergency,
    pages_faults,
    pages_live,
    pages_nodes,
    pages_notifications,
    pages_posters,
    pages_programme,
    pages_programme_repeats,
    pages_programme_setup,
    pages_public,
    pages_relays,
    pages_reports,
    pages_review,
    pages_subscriptions,
    pages_templates,
)
from controller.web.deps import CsrfError, ForbiddenError, LoginRequiredError, viewer_of
from controller.web.i18n import translate
from controller.web.pages_auth import safe_next
from controller.web.render import HERE, page

ROUTERS = [
    pages_auth.router,
    live.router,
    pages_programme.router,
    pages_programme_setup.router,
    pages_programme_repeats.router,
    pages_calendar.router,
    pages_relays.router,
    pages_posters.router,
    pages_nodes.router,
    pages_faults.router,
    pages_drafts.router,
    pages_bulletins.router,
    pages_public.router,
    pages_review.router,
    pages_reports.router,
    pages_emergency.router,
    pages_live.router,
    live_socket.router,
    pages_admin.router,
    pages_subscriptions.router,
    pages_notifications.router,
    pages_templates.router,
]

# Scripts and styles come only from /static: an injected <script> cannot run.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def wants_json(request: Request) -> bool:
    """The app's own scripts ask with fetch(); they show errors in place instead of a page."""
    return request.headers.get("X-Requested-With") == "fetch" or request.url.path.startswith(
        "/api/"
    )


def mount(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    app.add_exception_handler(LoginRequiredError, login_required)

    @app.exception_handler(ForbiddenError)
    async def forbidden(request: Request, exc: ForbiddenError) -> Response:
        return refusal(request, 403, "error.forbidden")

    @app.exception_handler(CsrfError)
    async def csrf(request: Request, _exc: CsrfError) -> Response:
        return refusal(request, 403, "error.csrf")

    @app.exception_handler(RequestValidationError)
    async def invalid_form(request: Request, exc: RequestValidationError) -> Response:
        # A page's form field past its maxlength (an old browser, a hand-made post) is refused
        # before the route runs: a page that says so, not FastAPI's JSON.
        if wants_json(request) or request.url.path.startswith(("/docs", "/openapi")):
            return await request_validation_exception_handler(request, exc)
        return refusal(request, 422, "error.invalid_form")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_json(request) or request.url.path.startswith(("/docs", "/openapi", "/static")):
            return await http_exception_handler(request, exc)
        return refusal(request, exc.status_code, "", detail=str(exc.detail))

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if not request.url.path.startswith(("/api/", "/docs", "/openapi")):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response


# The forms that send a recording: only a logged-in viewer's body is read (controller.api.limits).
UPLOAD_FORMS = ("/bulletins/draft", "/emergency/review")


async def login_required(request: Request, _exc: Exception) -> Response:
    """No live session: the login form (back to the page the form was on), or a 401 for the
    pages' scripts."""
    if wants_json(request):
        lang = request.cookies.get("loa_lang", "vi")
        return JSONResponse({"detail": translate("session.expired", lang)}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":  # after logging in, go back to the form, not to its action
        referer = urlsplit(request.headers.get("referer", ""))
        same_site = referer.netloc == request.url.netloc
        target = referer.path + (f"?{referer.query}" if referer.query else "") if same_site else "/"
    return RedirectResponse(f"/login?next={quote(safe_next(target))}", status_code=303)


async def session_gate(request: Request) -> Response | None:
    """What an upload form answers without a session, given before its body is read; None for
    a logged-in viewer (their permission and token are checked by the route, as before)."""
    viewer = await run_in_threadpool(viewer_of, request, get_db(request), get_config(request))
    return None if viewer is not None else await login_required(request, LoginRequiredError())


async def domain_error(request: Request, exc: Exception) -> Response:
    """A domain refusal no page caught: the error page, or JSON for the pages' scripts, in the
    viewer's language."""
    assert isinstance(exc, DomainError)  # registered for DomainError only
    return refusal(request, status_of(exc), "", error=exc)


def refusal(
    request: Request,
    status: int,
    key: str,
    detail: str = "",
    *,
    error: DomainError | None = None,
) -> Response:
    """The message is the catalogue's ``key``, else ``error``'s, else ``detail`` as given."""
    # Exception handlers get no Depends: call the typed accessors the dependencies use.
    viewer = viewer_of(request, get_db(request), get_config(request))
    lang = viewer.lang if viewer else request.cookies.get("loa_lang", "vi")
    message = translate(key, lang) if key else error.message(lang) if error else detail
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    return page(request, viewer, "error.html", status_code=status, status=status, message=message)
