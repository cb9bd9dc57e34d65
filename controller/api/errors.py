"""Domain refusals as HTTP: the status each kind of refusal answers with, and the API's answer."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from controller import errors
from controller.schemas import Problem

STATUS: dict[type[errors.DomainError], int] = {
    errors.InvalidInputError: 422,
    errors.NotFoundError: 404,
    errors.ForbiddenError: 403,
    errors.ConflictError: 409,
    errors.TooLargeError: 413,
    errors.UnsupportedMediaError: 415,
    errors.TooManyRequestsError: 429,
    errors.UnavailableError: 503,
    errors.StorageFullError: 507,
}


def status_of(exc: errors.DomainError) -> int:
    """The status of the nearest kind of refusal ``exc`` is (422 for a bare DomainError)."""
    return next((STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS), 422)


async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
    """The API's answer, shaped like every other (``Problem``) and in the API's wording, with the
    refusal's stable code and field for programs."""
    assert isinstance(exc, errors.DomainError)  # registered for DomainError only
    body = Problem(detail=exc.en, code=exc.code, field=exc.field)
    return JSONResponse(body.model_dump(), status_code=status_of(exc))
