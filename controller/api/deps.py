"""FastAPI dependencies shared by the API routers: database, config, dispatcher, the caller."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from controller.auth import user_for_token
from controller.broadcast.media import Recording
from controller.config import ControllerConfig
from controller.db import Database
from controller.delivery.dispatcher import Dispatcher
from controller.models import Base, User
from controller.permissions import may
from controller.schemas import Problem

bearer = HTTPBearer(auto_error=False)
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem} for code in (400, 401, 403, 404, 409, 413, 415, 422)
}


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_config(request: Request) -> ControllerConfig:
    config: ControllerConfig = request.app.state.config
    return config


def get_dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


def current_user(
    db: Annotated[Database, Depends(get_db)],
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    if creds is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token")
    with db.session() as s:
        user = user_for_token(s, creds.credentials)
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked token")
        s.expunge(user)
        return user


async def token_gate(request: Request) -> Response | None:
    """The 401 ``current_user`` would answer, given before the request's body is read (see
    ``controller.api.limits``); None for a caller with a valid token."""
    creds = await bearer(request)
    db = get_db(request)
    try:
        await run_in_threadpool(current_user, db, creds)
    except HTTPException as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    return None


def require(user: User, permission: str) -> None:
    """403 unless the caller's role may do this (the same table as the web app's)."""
    if not may(user.role, permission):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"a {user.role} account may not do this ({permission}); "
            "ask an account with that role (tài khoản của bạn không có quyền này)",
        )


def recording(upload: UploadFile | None) -> Recording | None:
    """An uploaded file as the domain takes it; an empty file field (no name) is none sent."""
    return Recording(upload.file, upload.filename) if upload and upload.filename else None


def allowed(permission: str) -> object:
    def dependency(user: Annotated[User, Depends(current_user)]) -> User:
        require(user, permission)
        return user

    return Depends(dependency)


UserDep = Annotated[User, Depends(current_user)]
ProgrammeEditorDep = Annotated[User, allowed("programme.edit")]
NodeControllerDep = Annotated[User, allowed("nodes.control")]
EmergencyDep = Annotated[User, allowed("emergency")]
DbDep = Annotated[Database, Depends(get_db)]
ConfigDep = Annotated[ControllerConfig, Depends(get_config)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]


Row = TypeVar("Row", bound=Base)


def found(s: Session, model: type[Row], key: str, what: str) -> Row:
    """The ``model`` row with ``key``, or a 404 saying there is no such ``what``."""
    row = s.get(model, key)
    if row is None:
        raise HTTPException(404, f"no {what} {key}")
    return row
