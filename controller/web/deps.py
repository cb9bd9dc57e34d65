"""Who is looking at a page, what they may do, and the CSRF check on every form post."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from controller.api.deps import ConfigDep, DbDep
from controller.config import ControllerConfig
from controller.db import Database
from controller.models import User
from controller.permissions import may
from controller.web import sessions
from controller.web.i18n import DEFAULT_LANGUAGE, LANGUAGES

LANG_COOKIE = "loa_lang"


class LoginRequiredError(Exception):
    """No live session: pages redirect to the login form, scripts get a 401 they can show."""


class ForbiddenError(Exception):
    def __init__(self, permission: str) -> None:
        super().__init__(permission)
        self.permission = permission


class CsrfError(Exception):
    """A form post without this session's token: refused, nothing changed."""


@dataclass(frozen=True)
class Viewer:
    user: User  # detached from its database session
    csrf: str
    lang: str

    def can(self, permission: str) -> bool:
        return may(self.user.role, permission)

    def account(self, s: Session) -> User:
        """The viewer's account in ``s``, to change or to name as the actor (``user`` is a
        detached copy)."""
        user = s.get(User, self.user.id)
        assert user is not None  # the session that made the viewer holds the user
        return user


def language(request: Request, user: User | None = None) -> str:
    chosen = request.cookies.get(LANG_COOKIE) or (user.language if user else "")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def viewer_of(request: Request, db: Database, config: ControllerConfig) -> Viewer | None:
    """The logged-in viewer, or None (for pages that anyone may see, like the login form)."""
    token = request.cookies.get(sessions.COOKIE, "")
    if not token:
        return None
    with db.session() as s:
        row = sessions.session_for(s, config, token)
        if row is None:
            return None
        user = row.user
        s.expunge(user)
        return Viewer(user=user, csrf=row.csrf, lang=language(request, user))


def maybe_viewer(request: Request, db: DbDep, config: ConfigDep) -> Viewer | None:
    """The viewer if logged in, for pages that anyone may see."""
    return viewer_of(request, db, config)


MaybeViewerDep = Annotated[Viewer | None, Depends(maybe_viewer)]


def allowed(permission: str, *, post: bool = False) -> Any:
    """A dependency giving the viewer if they hold ``permission`` (and, for posts, the token)."""

    async def dependency(request: Request, db: DbDep, config: ConfigDep) -> Viewer:
        viewer = viewer_of(request, db, config)
        if viewer is None:
            raise LoginRequiredError
        if post:
            form = await request.form()
            token = request.headers.get("X-CSRF-Token") or form.get("csrf")
            if not isinstance(token, str) or not sessions.csrf_matches_token(viewer.csrf, token):
                raise CsrfError
        if not viewer.can(permission):
            raise ForbiddenError(permission)
        return viewer

    checked: Callable[[Request, Database, ControllerConfig], Awaitable[Viewer]] = dependency
    return Depends(checked)
