"""Account administration (create, change role, lock and unlock, reset a password) and the audit
log, for admins. Every change is audited in the same transaction as the change itself."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from controller import audit
from controller.api.deps import DbDep
from controller.auth import (
    MIN_PASSWORD_LENGTH,
    ROLES,
    SYSTEM_ROLE,
    create_user,
    hash_password,
    token_digest,
)
from controller.db import Database
from controller.models import AuditEntry, User, WebSession
from controller.web import sessions
from controller.web.deps import Viewer, allowed
from controller.web.i18n import catalogue, translate
from controller.web.render import page

router = APIRouter(include_in_schema=False)
USERNAME = re.compile(r"[A-Za-z0-9._-]{3,64}")
MAX_DISPLAY_NAME = 200
MAX_PASSWORD = 256
AUDIT_PAGE = 50


# --- accounts --------------------------------------------------------------------------------
def users_page(
    request: Request,
    viewer: Viewer,
    db: Database,
    *,
    new: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    done: str = "",
    who: str = "",
) -> Response:
    with db.session() as s:
        everyone = s.scalars(select(User).order_by(User.active.desc(), User.username)).all()
        s.expunge_all()
    return page(
        request,
        viewer,
        "admin/users.html",
        status_code=status,
        # the system's own accounts (the CAP feed's) are listed apart, to be seen, not edited
        users=[u for u in everyone if u.role != SYSTEM_ROLE],
        system_users=[u for u in everyone if u.role == SYSTEM_ROLE],
        roles=ROLES,
        new=new or {"username": "", "display_name": "", "role": "broadcaster"},
        errors=errors or {},
        per_user=per_user(errors or {}),
        done=done if done in DONE else "",
        who=who,
        min_password=MIN_PASSWORD_LENGTH,
    )


def per_user(errors: dict[str, str]) -> dict[int, dict[str, str]]:
    """``{"7.password": key}`` → ``{7: {"password": key}}``: messages for one user's panel."""
    out: dict[int, dict[str, str]] = {}
    for name, key in errors.items():
        user_id, dot, field = name.partition(".")
        if dot and user_id.isdigit():
            out.setdefault(int(user_id), {})[field] = key
    return out


DONE = ("created", "role", "deactivated", "reactivated", "password")


@router.get("/admin/users")
def users(
    request: Request,
    db: DbDep,
    viewer: Annotated[Viewer, allowed("admin")],
    done: str = "",
    who: str = "",
) -> Response:
    return users_page(request, viewer, db, done=done, who=who)


def password_error(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        return "admin.error.password_short"
    if len(password) > MAX_PASSWORD:
        return "admin.error.password_long"
    return ""


@router.post("/admin/users")
def create(
    request: Request,
    db: DbDep,
    *,
    viewer: Annotated[Viewer, allowed("admin", post=True)],
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    new = {"username": username, "display_name": display_name, "role": role}
    name = username.strip()
    errors: dict[str, str] = {}
    if not USERNAME.fullmatch(name):
        errors["username"] = "admin.error.username_format"
    if len(display_name) > MAX_DISPLAY_NAME:
        errors["display_name"] = "admin.error.display_name_long"
    if role not in ROLES:
        errors["role"] = "admin.error.role"
    if message := password_error(password):
        errors["password"] = message
    with db.session() as s:
        if "username" not in errors and s.scalar(select(User.id).where(User.username == name)):
            errors["username"] = "admin.error.username_taken"
        if not errors:
            try:
                user = create_user(s, name, password, role)
            except ValueError:  # its own checks, should they ever be stricter than ours
                errors["password"] = "admin.error.refused"
            else:
                user.display_name = display_name.strip()
                audit.record(
                    s, viewer.user.username, "user.create", name, role=role, name=user.display_name
                )
    if errors:
        return users_page(request, viewer, db, new=new, errors=errors, status=422)
    return RedirectResponse(f"/admin/users?done=created&who={name}", status_code=303)


def target_or_404(s: Session, user_id: int, lang: str) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise HTTPException(404, translate("error.not_found", lang))
    return user


def refused_for(
    request: Request,
    viewer: Viewer,
    user_id: int,
    field: str,
    key: str,
    *,
    db: Database,
    status: int,
) -> Response:
    """The list again, the refused user's edit panel open with the message next to the field."""
    return users_page(request, viewer, db, errors={f"{user_id}.{field}": key}, status=status)


def system_refusal(request: Request, viewer: Viewer, db: Database, user_id: int) -> Response | None:
    """A 409 for any change to a system account: an admin giving the CAP feed's account a role
    or a password would turn it into a login no one owns."""
    with db.session() as s:
        user = s.get(User, user_id)
        if user is None or user.role != SYSTEM_ROLE:
            return None
    return refused_for(
        request, viewer, user_id, "system", "admin.error.system_account", db=db, status=409
    )


@router.post("/admin/users/{user_id}/role")
def change_role(
    request: Request,
    db: DbDep,
    user_id: int,
    viewer: Annotated[Viewer, allowed("admin", post=True)],
    role: Annotated[str, Form()] = "",
) -> Response:
    if refused := system_refusal(request, viewer, db, user_id):
        return refused
    if role not in ROLES:
        return refused_for(request, viewer, user_id, "role", "admin.error.role", db=db, status=422)
    if user_id == viewer.user.id and role != "admin":
        return refused_for(
            request, viewer, user_id, "role", "admin.error.own_role", db=db, status=409
        )
    with db.session() as s:
        user = target_or_404(s, user_id, viewer.lang)
        before, user.role = user.role, role
        audit.record(s, viewer.user.username, "user.role", user.username, before=before, after=role)
        name = user.username
    return RedirectResponse(f"/admin/users?done=role&who={name}", status_code=303)


@router.post("/admin/users/{user_id}/active")
def set_active(
    request: Request,
    db: DbDep,
    user_id: int,
    viewer: Annotated[Viewer, allowed("admin", post=True)],
    active: Annotated[str, Form()] = "",
) -> Response:
    if refused := system_refusal(request, viewer, db, user_id):
        return refused
    on = active == "1"
    if user_id == viewer.user.id and not on:
        return refused_for(
            request, viewer, user_id, "active", "admin.error.own_account", db=db, status=409
        )
    with db.session() as s:
        user = target_or_404(s, user_id, viewer.lang)
        user.active = on
        if not on:  # a locked account is logged out everywhere at once
            s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        action = "user.reactivate" if on else "user.deactivate"
        audit.record(s, viewer.user.username, action, user.username)
        name = user.username
    done = "reactivated" if on else "deactivated"
    return RedirectResponse(f"/admin/users?done={done}&who={name}", status_code=303)


@router.post("/admin/users/{user_id}/password")
def reset_password(
    request: Request,
    db: DbDep,
    user_id: int,
    viewer: Annotated[Viewer, allowed("admin", post=True)],
    password: Annotated[str, Form()] = "",
) -> Response:
    if refused := system_refusal(request, viewer, db, user_id):
        return refused
    if message := password_error(password):
        return refused_for(request, viewer, user_id, "password", message, db=db, status=422)
    mine = token_digest(request.cookies.get(sessions.COOKIE, ""))
    with db.session() as s:
        user = target_or_404(s, user_id, viewer.lang)
        user.password_hash = hash_password(password)
        # whoever knew the old password is logged out; the admin doing it stays logged in
        s.execute(
            delete(WebSession).where(WebSession.user_id == user.id, WebSession.token_sha256 != mine)
        )
        audit.record(s, viewer.user.username, "user.password_reset", user.username)
        name = user.username
    return RedirectResponse(f"/admin/users?done=password&who={name}", status_code=303)


# --- the audit log -----------------------------------------------------------------------------
@router.get("/admin/audit")
def audit_log(
    request: Request,
    *,
    db: DbDep,
    viewer: Annotated[Viewer, allowed("admin")],
    user: str = "",
    action: str = "",
    page_no: Annotated[int, Query(alias="page", ge=1)] = 1,
) -> Response:
    query = select(AuditEntry)
    if user:
        query = query.where(AuditEntry.actor == user)
    if action:
        query = query.where(AuditEntry.action == action)
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        pages = max(1, math.ceil(total / AUDIT_PAGE))
        current = min(max(1, page_no), pages)
        rows = s.scalars(
            query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .offset((current - 1) * AUDIT_PAGE)
            .limit(AUDIT_PAGE)
        ).all()
        actors = s.scalars(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor)).all()
        actions = s.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
        entries = [
            {
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "label": action_label(e.action, viewer.lang),
                "target": e.target,
                "detail": detail_text(e.detail),
            }
            for e in rows
        ]
    return page(
        request,
        viewer,
        "admin/audit.html",
        entries=entries,
        actors=actors,
        actions=[(a, action_label(a, viewer.lang)) for a in actions],
        chosen_user=user,
        chosen_action=action,
        current=current,
        pages=pages,
        total=total,
    )


def action_label(action: str, lang: str) -> str:
    key = f"admin.audit.action.{action}"
    return translate(key, lang) if key in catalogue() else action


def detail_text(detail: dict[str, Any] | None, limit: int = 300) -> str:
    text = "; ".join(f"{k}: {v}" for k, v in (detail or {}).items())
    return text if len(text) <= limit else text[: limit - 1] + "…"
